"""the journal's three account rules as one statement trigger, fl.posting_account_rules (issue 24): see sql/0168_posting_account_rules.sql

Revision ID: 0168
Revises: 0166
"""

from sql.migrations.runner import run_sql_file

revision = "0168"
down_revision = "0166"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0168_posting_account_rules.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
