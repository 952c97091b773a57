"""the provincial adjustment fund: see sql/0025b_adjfund.sql

Revision ID: 0025b
Revises: 0023
"""

from sql.migrations.runner import run_sql_file

revision = "0025b"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0025b_adjfund.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
