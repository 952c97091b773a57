"""the settings a year is read with take effect per year; a closed year's are final (F9c, rule point closed_year_settings): see sql/0162_closed_year_settings.sql

Revision ID: 0162
Revises: 0159
"""

from sql.migrations.runner import run_sql_file

revision = "0162"
down_revision = "0159"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0162_closed_year_settings.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
