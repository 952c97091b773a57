"""writer clock: see sql/0056_writer_clock.sql

Revision ID: 0056
Revises: 0052
"""

from sql.migrations.runner import run_sql_file

revision = "0056"
down_revision = "0052"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0056_writer_clock.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
