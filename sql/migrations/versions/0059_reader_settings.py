"""reader settings (ATTACK7 U13): see sql/0059_reader_settings_db.sql and sql/0059_reader_settings.sql

Revision ID: 0059
Revises: 0057
"""

from sql.migrations.runner import run_sql_file

revision = "0059"
down_revision = "0057"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0059_reader_settings.sql")
    # A grant of a predefined role: the migrating login's rights, not fl_owner's.
    run_sql_file("0059_reader_settings_db.sql", as_owner=False)


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
