"""hardening: see sql/0016_hardening.sql and sql/0016_hardening_db.sql

Revision ID: 0016
Revises: 0010
"""

from sql.migrations.runner import run_sql_file

revision = "0016"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0016_hardening.sql")
    # REVOKE/GRANT on the database: the migrating login's rights (the database owner's), not fl_owner's.
    run_sql_file("0016_hardening_db.sql", as_owner=False)


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
