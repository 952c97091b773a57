"""import batch digest: see sql/0057_import_batch_digest.sql

Revision ID: 0057
Revises: 0055
"""

from sql.migrations.runner import run_sql_file

revision = "0057"
down_revision = "0055"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0057_import_batch_digest.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
