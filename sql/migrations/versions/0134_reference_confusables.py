"""a new reference holds none of GB2312's radicals drawn like a common character (ATTACK16b D5): see sql/0134_reference_confusables.sql

Revision ID: 0134
Revises: 0133
"""

from sql.migrations.runner import run_sql_file

revision = "0134"
down_revision = "0133"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0134_reference_confusables.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
