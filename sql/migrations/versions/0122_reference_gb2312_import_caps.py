"""a reference's 汉字 are GB2312's; every import kind has a daily cap (ATTACK15b B3, B7): see sql/0122_reference_gb2312_import_caps.sql

Revision ID: 0122
Revises: 0119
"""

from sql.migrations.runner import run_sql_file

revision = "0122"
down_revision = "0119"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0122_reference_gb2312_import_caps.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
