"""an entry id is positive (ATTACK10 X1): see sql/0077_entry_id_positive.sql

Revision ID: 0077
Revises: 0078
"""

from sql.migrations.runner import run_sql_file

revision = "0077"
down_revision = "0078"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0077_entry_id_positive.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
