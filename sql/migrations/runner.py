"""Run one of the SQL files in ``sql/`` inside the current Alembic migration.

The files contain dollar-quoted function bodies and many statements, so they go to
PostgreSQL over the raw psycopg connection as one simple-protocol script."""

from importlib import resources

from alembic import op


def run_sql_file(name: str) -> None:
    text = resources.files("sql").joinpath(name).read_text("utf-8")
    raw = op.get_bind().connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(text)
