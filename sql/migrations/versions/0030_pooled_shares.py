"""pooled shares: see sql/0030_pooled_shares.sql

Revision ID: 0030
Revises: 0032
"""

from sql.migrations.runner import run_sql_file

revision = "0030"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0030_pooled_shares.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
