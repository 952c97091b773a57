"""a payments import reads its million rows fewer times: see sql/0092_import_scans.sql

Revision ID: 0092
Revises: 0090
"""

from sql.migrations.runner import run_sql_file

revision = "0092"
down_revision = "0090"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0092_import_scans.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
