"""a claim is paid once across a unit's two registers on the references' folded form (0070, 0043, 0063 read the other side's stored look-alike): see sql/0146_claims_once_folded.sql

Revision ID: 0146
Revises: 0143
"""

from sql.migrations.runner import run_sql_file

revision = "0146"
down_revision = "0143"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0146_claims_once_folded.sql")


def downgrade() -> None:
    raise NotImplementedError("fundledger migrations are forward-only")
