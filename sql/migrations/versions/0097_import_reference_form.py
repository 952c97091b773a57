"""a plain reference is judged by one test, not three (issue 24): see sql/0097_import_reference_form.sql

Revision ID: 0097
Revises: 0095
"""

from sql.migrations.runner import run_sql_file

revision = "0097"
down_revision = "0095"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0097_import_reference_form.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
