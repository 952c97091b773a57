"""duties, disclosure, limits: see sql/0018_duties.sql and sql/0018_duties_db.sql

Revision ID: 0018
Revises: 0020
"""

from sql.migrations.runner import run_sql_file

revision = "0018"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0018_duties.sql")
    # Large objects, role limits and connection limits: the migrating login's rights (a superuser's
    # or the DBA's), not fl_owner's.
    run_sql_file("0018_duties_db.sql", as_owner=False)


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
