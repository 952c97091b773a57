"""fl.seal_pending names a prepared transaction that holds the chain head (ATTACK10 X6): see sql/0083_seal_names_prepared.sql

Revision ID: 0083
Revises: 0076
"""

from sql.migrations.runner import run_sql_file

revision = "0083"
down_revision = "0076"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0083_seal_names_prepared.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
