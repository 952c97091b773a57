"""an interest allocation records the total and weights its shares came from (issue 15): see sql/0079_interest_weights.sql

Revision ID: 0079
Revises: 0077
"""

from sql.migrations.runner import run_sql_file

revision = "0079"
down_revision = "0077"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0079_interest_weights.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
