"""confinement after ATTACK3 and ATTACK2 B4/B1b: see sql/0027_confinement.sql and sql/0027_confinement_db.sql

Revision ID: 0027
Revises: 0029
"""

from sql.migrations.runner import run_sql_file

revision = "0027"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0027_confinement.sql")
    # The guard against stuck writers and CONNECT on the database: the migrating login's rights
    # (a superuser's, or the database owner's), not fl_owner's.
    run_sql_file("0027_confinement_db.sql", as_owner=False)


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
