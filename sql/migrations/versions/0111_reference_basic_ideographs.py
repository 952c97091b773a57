"""a reference's 汉字 are the basic block's (ATTACK15 A5): see sql/0111_reference_basic_ideographs.sql

Revision ID: 0111
Revises: 0109
"""

from sql.migrations.runner import run_sql_file

revision = "0111"
down_revision = "0109"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0111_reference_basic_ideographs.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
