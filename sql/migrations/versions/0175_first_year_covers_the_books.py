"""the region's first year never moves past what the books hold (ATTACK21 N6): sql/0175_first_year_covers_the_books.sql

Revision ID: 0175
Revises: 0172
"""

from sql.migrations.runner import run_sql_file

revision = "0175"
down_revision = "0172"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0175_first_year_covers_the_books.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
