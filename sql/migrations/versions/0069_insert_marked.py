"""an insert into a contended table is marked for the busy-holder guard (ATTACK9 W4): see sql/0069_insert_marked.sql

Revision ID: 0069
Revises: 0068
"""

from sql.migrations.runner import run_sql_file

revision = "0069"
down_revision = "0068"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0069_insert_marked.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
