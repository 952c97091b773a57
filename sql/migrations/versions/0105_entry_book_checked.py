"""An entry's book is checked by fl.entry_inserted, not a foreign key: see sql/0105_entry_book_checked.sql

Revision ID: 0105
Revises: 0103
"""

from sql.migrations.runner import run_sql_file

revision = "0105"
down_revision = "0103"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0105_entry_book_checked.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
