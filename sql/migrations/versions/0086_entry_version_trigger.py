"""fl.entry's empty history trigger dropped; the verifier names fl.entry hooked with fl.posting (issue 24): see sql/0086_entry_version_trigger.sql

Revision ID: 0086
Revises: 0080
"""

from sql.migrations.runner import run_sql_file

revision = "0086"
down_revision = "0080"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0086_entry_version_trigger.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
