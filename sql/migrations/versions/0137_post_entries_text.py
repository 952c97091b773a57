"""a raw fl.post_entries with a NUL or NaN/Infinity is a named refusal (ATTACK16 C7, SQL side): see sql/0137_post_entries_text.sql

Revision ID: 0137
Revises: 0132
"""

from sql.migrations.runner import run_sql_file

revision = "0137"
down_revision = "0132"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0137_post_entries_text.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
