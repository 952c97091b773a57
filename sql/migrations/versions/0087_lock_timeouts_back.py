"""fl.reverse_entry's lock_timeout back after 0082, by 0050's sweep: see sql/0087_lock_timeouts_back.sql

Revision ID: 0087
Revises: 0085
"""

from sql.migrations.runner import run_sql_file

revision = "0087"
down_revision = "0085"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0087_lock_timeouts_back.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
