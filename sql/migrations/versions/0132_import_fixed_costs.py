"""an import's per-group and per-entry repeats cut (issue 24): see sql/0132_import_fixed_costs.sql

Revision ID: 0132
Revises: 0134
"""

from sql.migrations.runner import run_sql_file

revision = "0132"
down_revision = "0134"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0132_import_fixed_costs.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
