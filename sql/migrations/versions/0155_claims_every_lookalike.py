"""a claim's every look-alike in the other register decides (ATTACK18b H8): see sql/0155_claims_every_lookalike.sql

Revision ID: 0155
Revises: 0151
"""

from sql.migrations.runner import run_sql_file

revision = "0155"
down_revision = "0151"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0155_claims_every_lookalike.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
