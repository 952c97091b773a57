"""history versions chained as they are written: see sql/0034_record_inline.sql

Revision ID: 0034
Revises: 0037
"""

from sql.migrations.runner import run_sql_file

revision = "0034"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0034_record_inline.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
