"""the import register's look-alike index predicate and trigger condition judged in C, not by a SQL function per line (issue 24): see sql/0148_lookalike_predicate.sql

Revision ID: 0148
Revises: 0154
"""

from sql.migrations.runner import run_sql_file

revision = "0148"
down_revision = "0154"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0148_lookalike_predicate.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
