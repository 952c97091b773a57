"""monitoring acknowledgements and fund requests bounded per user and region day (ATTACK10 X15):
see sql/0085_daily_acks_requests.sql

Revision ID: 0085
Revises: 0084
"""

from sql.migrations.runner import run_sql_file

revision = "0085"
down_revision = "0084"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0085_daily_acks_requests.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
