"""a posting's line reference keeps the form it was written under (ATTACK15b B6): see sql/0118_line_ref_form_kept.sql

Revision ID: 0118
Revises: 0114
"""

from sql.migrations.runner import run_sql_file

revision = "0118"
down_revision = "0114"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0118_line_ref_form_kept.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
