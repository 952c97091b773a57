"""the bureau's row for a claim the county already paid is a conflict naming the county's entry (ATTACK9 W5): see sql/0070_claim_paid_once.sql

Revision ID: 0070
Revises: 0069
"""

from sql.migrations.runner import run_sql_file

revision = "0070"
down_revision = "0069"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0070_claim_paid_once.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
