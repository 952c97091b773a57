"""ack keys per unit: see sql/0041_ack_keys_per_unit.sql

Revision ID: 0041
Revises: 0040
"""

from sql.migrations.runner import run_sql_file

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0041_ack_keys_per_unit.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
