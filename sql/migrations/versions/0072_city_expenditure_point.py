"""expenditure 5xxx (0067) judged from its own rule point, city_expenditure (ATTACK9 W2 after W6): see sql/0072_city_expenditure_point.sql

Revision ID: 0072
Revises: 0067
"""

from sql.migrations.runner import run_sql_file

revision = "0072"
down_revision = "0067"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0072_city_expenditure_point.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
