"""entry version: see sql/0055_entry_version.sql

Revision ID: 0055
Revises: 0056
"""

from sql.migrations.runner import run_sql_file

revision = "0055"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0055_entry_version.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
