"""fl.category_component_problem pins the search_path of what definers run: see sql/0102_category_component_path.sql

Revision ID: 0102
Revises: 0101
"""

from sql.migrations.runner import run_sql_file

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0102_category_component_path.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
