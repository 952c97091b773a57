"""reference namespace: see sql/0035_reference_namespace.sql

Revision ID: 0035
Revises: 0031
"""

from sql.migrations.runner import run_sql_file

revision = "0035"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0035_reference_namespace.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
