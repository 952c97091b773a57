"""issue 24: fl.entry_stamp measures a source document's depth only when there is one, and fl.entry's READ COMMITTED guard fires only when the isolation is another (its WHEN): see sql/0147_entry_write_calls.sql

Revision ID: 0147
Revises: 0149
"""

from sql.migrations.runner import run_sql_file

revision = "0147"
down_revision = "0149"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0147_entry_write_calls.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
