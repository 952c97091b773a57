"""A payments row whose category its component does not pay is refused by row and column (ATTACK14 V6's limit): see sql/0106_payments_category_row.sql

Revision ID: 0106
Revises: 0102
"""

from sql.migrations.runner import run_sql_file

revision = "0106"
down_revision = "0102"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0106_payments_category_row.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
