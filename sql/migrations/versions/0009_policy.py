"""policy: see sql/0009_policy.sql (limits and user checks, issue 14 part B)

Revision ID: 0009
Revises: 0015
"""

from sql.migrations.runner import run_sql_file

revision = "0009"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0009_policy.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
