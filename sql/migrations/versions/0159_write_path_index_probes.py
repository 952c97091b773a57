"""the write path reads its small tables by index (issue 24): see sql/0159_write_path_index_probes.sql

Revision ID: 0159
Revises: 0157
"""

from sql.migrations.runner import run_sql_file

revision = "0159"
down_revision = "0157"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0159_write_path_index_probes.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
