"""a closed year's settings are judged at commit, on what a transaction leaves (ATTACK19b K2): see sql/0166_closed_year_settings_at_commit.sql

Revision ID: 0166
Revises: 0165
"""

from sql.migrations.runner import run_sql_file

revision = "0166"
down_revision = "0165"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0166_closed_year_settings_at_commit.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
