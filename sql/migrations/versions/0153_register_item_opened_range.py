"""a register item is not opened after today nor before the ledger's first year (ATTACK18 G11): see sql/0153_register_item_opened_range.sql

Revision ID: 0153
Revises: 0150
"""

from sql.migrations.runner import run_sql_file

revision = "0153"
down_revision = "0150"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0153_register_item_opened_range.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
