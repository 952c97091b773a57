"""parse once: see sql/0062_parse_once.sql

Revision ID: 0062
Revises: 0061
"""

from sql.migrations.runner import run_sql_file

revision = "0062"
down_revision = "0061"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0062_parse_once.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
