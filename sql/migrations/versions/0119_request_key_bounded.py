"""every key a person gives is at most 200 characters (ATTACK15b B4): see sql/0119_request_key_bounded.sql

Revision ID: 0119
Revises: 0118
"""

from sql.migrations.runner import run_sql_file

revision = "0119"
down_revision = "0118"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0119_request_key_bounded.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
