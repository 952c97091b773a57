"""a closed year's FIRST insured headcount is accepted (it fills a gap), a correction stays refused (ATTACK17b F10): see sql/0142_closed_year_first_headcount.sql

Revision ID: 0142
Revises: 0141
"""

from sql.migrations.runner import run_sql_file

revision = "0142"
down_revision = "0141"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0142_closed_year_first_headcount.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
