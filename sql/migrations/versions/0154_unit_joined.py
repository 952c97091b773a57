"""a unit's joining date is registered with it, once; nothing is posted on the unit dated before it, so a new unit's first day is never set by a back-dated first posting (ATTACK17b F1, rule point unit_joined): see sql/0154_unit_joined.sql

Revision ID: 0154
Revises: 0153
"""

from sql.migrations.runner import run_sql_file

revision = "0154"
down_revision = "0153"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0154_unit_joined.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
