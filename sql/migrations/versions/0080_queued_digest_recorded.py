"""a queued entry's content digest is recorded in the chained history at its commit (ATTACK10 X9, X11): see sql/0080_queued_digest_recorded.sql

Revision ID: 0080
Revises: 0082
"""

from sql.migrations.runner import run_sql_file

revision = "0080"
down_revision = "0082"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0080_queued_digest_recorded.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
