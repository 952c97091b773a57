"""the held entries' three account rules as one statement trigger, fl.pending_posting_held_rules (issue 24): see sql/0169_pending_account_rules.sql

Revision ID: 0169
Revises: 0170
"""

from sql.migrations.runner import run_sql_file

revision = "0169"
down_revision = "0170"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0169_pending_account_rules.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
