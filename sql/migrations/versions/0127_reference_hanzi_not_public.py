"""fl.reference_hanzi_ok is not PUBLIC's (0122 granted it): see sql/0127_reference_hanzi_not_public.sql

Revision ID: 0127
Revises: 0126
"""

from sql.migrations.runner import run_sql_file

revision = "0127"
down_revision = "0126"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0127_reference_hanzi_not_public.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
