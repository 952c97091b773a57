"""a fund request's approval has a business date; disbursements, settlements and register clearings
are not dated before what they follow (ATTACK15 A10): see sql/0126_approval_dated.sql

Revision ID: 0126
Revises: 0125
"""

from sql.migrations.runner import run_sql_file

revision = "0126"
down_revision = "0125"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0126_approval_dated.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
