"""A reference in a closed repertoire: ASCII, 汉字 and the punctuation of document numbers (ATTACK14 V1): see sql/0098_reference_repertoire.sql

Revision ID: 0098
Revises: 0089
"""

from sql.migrations.runner import run_sql_file

revision = "0098"
down_revision = "0089"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0098_reference_repertoire.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
