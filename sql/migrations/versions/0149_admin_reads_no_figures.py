"""the admin executes none of the confined figures readers (ATTACK18 G6): see sql/0149_admin_reads_no_figures.sql

Revision ID: 0149
Revises: 0146
"""

from sql.migrations.runner import run_sql_file

revision = "0149"
down_revision = "0146"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0149_admin_reads_no_figures.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
