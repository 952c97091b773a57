"""deploy: see sql/0013_deploy.sql

Revision ID: 0013
Revises: 0007
"""

from sql.migrations.runner import run_sql_file

revision = "0013"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0013_deploy.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
