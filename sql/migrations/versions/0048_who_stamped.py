"""who stamped: see sql/0048_who_stamped.sql

Revision ID: 0048
Revises: 0046
"""

from sql.migrations.runner import run_sql_file

revision = "0048"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0048_who_stamped.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
