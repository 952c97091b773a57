"""a closed year's reference records are final: budget, annual plan and insured headcount versions (first ones too) are refused once the year of their book is closed (ATTACK17 E6): see sql/0138_closed_year_reference.sql

Revision ID: 0138
Revises: 0136
"""

from sql.migrations.runner import run_sql_file

revision = "0138"
down_revision = "0136"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0138_closed_year_reference.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
