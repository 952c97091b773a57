"""session claims keys: see sql/0063_session_claims_keys.sql

Revision ID: 0063
Revises: 0058
"""

from sql.migrations.runner import run_sql_file

revision = "0063"
down_revision = "0058"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0063_session_claims_keys.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
