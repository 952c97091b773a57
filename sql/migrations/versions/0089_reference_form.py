"""References in one visible form; an import that writes nothing records nothing (ATTACK12 Z3, Z7): see sql/0089_reference_form.sql

Revision ID: 0089
Revises: 0092
"""

from sql.migrations.runner import run_sql_file

revision = "0089"
down_revision = "0092"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0089_reference_form.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
