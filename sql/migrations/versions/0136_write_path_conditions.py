"""issue 24: fl.account's identity check is its trigger's WHEN (no PL/pgSQL call per account row whose identity is unchanged): see sql/0136_write_path_conditions.sql

Revision ID: 0136
Revises: 0137
"""

from sql.migrations.runner import run_sql_file

revision = "0136"
down_revision = "0137"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0136_write_path_conditions.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
