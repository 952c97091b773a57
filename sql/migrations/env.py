"""Alembic environment: runs fundledger's SQL migrations on the connection the
caller hands over in ``config.attributes['connection']`` (see ledger/store/migrate.py)."""

from alembic import context

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, version_table_schema="fl", transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
