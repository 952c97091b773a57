"""The benefit category decides the component that pays it (ATTACK14 V6): see sql/0099_category_component.sql

Revision ID: 0099
Revises: 0094
"""

from sql.migrations.runner import run_sql_file

revision = "0099"
down_revision = "0094"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0099_category_component.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
