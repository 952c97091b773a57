"""an officer's manual entry on expenditure 5xxx is the city's to confirm (ATTACK9 W2): see sql/0067_city_expenditure.sql

Revision ID: 0067
Revises: 0070
"""

from sql.migrations.runner import run_sql_file

revision = "0067"
down_revision = "0070"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0067_city_expenditure.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
