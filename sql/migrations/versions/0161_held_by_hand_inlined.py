"""fl._held_by_hand is inlined into its callers (issue 24): see sql/0161_held_by_hand_inlined.sql

Revision ID: 0161
Revises: 0163
"""

from sql.migrations.runner import run_sql_file

revision = "0161"
down_revision = "0163"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0161_held_by_hand_inlined.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
