"""A posting's line reference is held to the reference form, validated against every row: see sql/0107_posting_line_ref_form.sql

Revision ID: 0107
Revises: 0106
"""

from sql.migrations.runner import run_sql_file

revision = "0107"
down_revision = "0106"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0107_posting_line_ref_form.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
