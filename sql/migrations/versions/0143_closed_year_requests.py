"""a fund request for a closed year is neither submitted nor approved after the close (ATTACK17b F9, rule point closed_year_request): see sql/0143_closed_year_requests.sql

Revision ID: 0143
Revises: 0142
"""

from sql.migrations.runner import run_sql_file

revision = "0143"
down_revision = "0142"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0143_closed_year_requests.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
