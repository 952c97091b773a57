"""a later joining-date registration's table locks carry the busy-holder mark: see sql/0172_joined_later_marked.sql

Revision ID: 0172
Revises: 0173
"""

from sql.migrations.runner import run_sql_file

revision = "0172"
down_revision = "0173"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0172_joined_later_marked.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
