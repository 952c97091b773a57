"""a county's legacy accounts are the city's figures, either side (ATTACK17 E5, rule point legacy_figures): see sql/0140_legacy_city_figures.sql

Revision ID: 0140
Revises: 0139
"""

from sql.migrations.runner import run_sql_file

revision = "0140"
down_revision = "0139"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0140_legacy_city_figures.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
