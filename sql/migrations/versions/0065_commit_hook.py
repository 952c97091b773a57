"""commit hook on the entry itself, no gate row; partial reversal index: see sql/0065_commit_hook.sql

Revision ID: 0065
Revises: 0066
"""

from sql.migrations.runner import run_sql_file

revision = "0065"
down_revision = "0066"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0065_commit_hook.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
