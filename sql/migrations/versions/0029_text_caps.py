"""text caps: see sql/0029_text_caps.sql

Revision ID: 0029
Revises: 0024
"""

from sql.migrations.runner import run_sql_file

revision = "0029"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0029_text_caps.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
