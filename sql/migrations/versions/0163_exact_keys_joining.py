"""idempotency keys compared exactly, a unit without a joining date, pre-allocation before joining (ATTACK19 J4, J2, J5): see sql/0163_exact_keys_joining.sql

Revision ID: 0163
Revises: 0162
"""

from sql.migrations.runner import run_sql_file

revision = "0163"
down_revision = "0162"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0163_exact_keys_joining.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
