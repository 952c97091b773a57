"""a register item's reference rule binds its insert, not every update (B6's class): see sql/0124_register_item_reference_on_insert.sql

Revision ID: 0124
Revises: 0123
"""

from sql.migrations.runner import run_sql_file

revision = "0124"
down_revision = "0123"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0124_register_item_reference_on_insert.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
