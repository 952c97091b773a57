"""a new reference read as a stored one (its radicals folded to what they look like) is refused (ATTACK17b F4): see sql/0141_reference_lookalike_stored.sql

Revision ID: 0141
Revises: 0140
"""

from sql.migrations.runner import run_sql_file

revision = "0141"
down_revision = "0140"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0141_reference_lookalike_stored.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
