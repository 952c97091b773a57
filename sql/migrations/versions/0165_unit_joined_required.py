"""a unit with fund figures has a registered joining date, the verdict's side (ATTACK19 J2): see sql/0165_unit_joined_required.sql

Revision ID: 0165
Revises: 0164
"""

from sql.migrations.runner import run_sql_file

revision = "0165"
down_revision = "0164"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0165_unit_joined_required.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
