"""reports: see sql/0006_reports.sql

Revision ID: 0006
Revises: 0005
"""

from sql.migrations.runner import run_sql_file

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0006_reports.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
