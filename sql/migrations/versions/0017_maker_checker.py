"""maker checker: see sql/0017_maker_checker.sql

Revision ID: 0017
Revises: 0018b
"""

from sql.migrations.runner import run_sql_file

revision = "0017"
down_revision = "0018b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0017_maker_checker.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
