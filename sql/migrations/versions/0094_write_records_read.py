"""the writes that record inputs record what they read (ATTACK13 W6): see sql/0094_write_records_read.sql

Revision ID: 0094
Revises: 0098
"""

from sql.migrations.runner import run_sql_file

revision = "0094"
down_revision = "0098"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0094_write_records_read.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
