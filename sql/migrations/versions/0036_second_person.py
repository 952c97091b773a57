"""second person: see sql/0036_second_person.sql

Revision ID: 0036
Revises: 0030
"""

from sql.migrations.runner import run_sql_file

revision = "0036"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0036_second_person.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
