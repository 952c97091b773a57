"""proof: see sql/0010_proof.sql

Revision ID: 0010
Revises: 0009
"""

from sql.migrations.runner import run_sql_file

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0010_proof.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
