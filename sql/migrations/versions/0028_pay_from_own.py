"""pay from own account: see sql/0028_pay_from_own.sql

Revision ID: 0028
Revises: 0026
"""

from sql.migrations.runner import run_sql_file

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0028_pay_from_own.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
