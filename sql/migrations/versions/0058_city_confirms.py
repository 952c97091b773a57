"""the city confirms its figures; every writer-stopping lock marked (ATTACK7 U5, U7): see sql/0058_city_confirms.sql

Revision ID: 0058
Revises: 0062
"""

from sql.migrations.runner import run_sql_file

revision = "0058"
down_revision = "0062"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0058_city_confirms.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
