"""red team (second pass): see sql/0019_red_team.sql

Revision ID: 0019
Revises: 0018
"""

from sql.migrations.runner import run_sql_file

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0019_red_team.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
