"""each maker-checker rule judges the entries written after it took effect (ATTACK9 W6): see sql/0068_rule_points.sql

Revision ID: 0068
Revises: 0065
"""

from sql.migrations.runner import run_sql_file

revision = "0068"
down_revision = "0065"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0068_rule_points.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
