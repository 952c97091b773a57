"""a closed year's approved requests and funding standards are final (rule points closed_year_request_final, closed_year_standard): see sql/0150_closed_year_final.sql

Revision ID: 0150
Revises: 0147
"""

from sql.migrations.runner import run_sql_file

revision = "0150"
down_revision = "0147"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0150_closed_year_final.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
