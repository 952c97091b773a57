"""The posting rules in one statement trigger, fl.entry's large CHECKs in its stamp (issue 24): see sql/0090_write_path_checks.sql

Revision ID: 0090
Revises: 0088
"""

from sql.migrations.runner import run_sql_file

revision = "0090"
down_revision = "0088"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0090_write_path_checks.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
