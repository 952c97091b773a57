"""an entry dated before a closed month and sealed after its close is named by both verdicts (rule point closed_prefix): see sql/0131_closed_prefix_verdict.sql

Revision ID: 0131
Revises: 0129
"""

from sql.migrations.runner import run_sql_file

revision = "0131"
down_revision = "0129"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0131_closed_prefix_verdict.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
