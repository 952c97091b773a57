"""a year-close entry is not reversed (ATTACK10 X13): see sql/0082_close_not_reversed.sql

Revision ID: 0082
Revises: 0081
"""

from sql.migrations.runner import run_sql_file

revision = "0082"
down_revision = "0081"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0082_close_not_reversed.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
