"""Run one of the SQL files in ``sql/`` inside the current Alembic migration.

The files contain dollar-quoted function bodies and many statements, so they go to
PostgreSQL over the raw psycopg connection as one simple-protocol script.

Once migration 0008 has given schema ``fl`` to the role ``fl_owner`` (not a superuser,
no login), every later file runs as that role (``SET ROLE fl_owner``), so what it
creates belongs to fl_owner too and its SECURITY DEFINER functions run as fl_owner, not
as the migrating login. A migration that needs the login's own rights (creating a role
attribute fl_owner lacks, an extension) passes ``as_owner=False`` and re-owns what it
creates; tests/security/test_sweep.py fails on any object in fl that fl_owner does not own.
"""

from importlib import resources

from alembic import op

OWNER = "fl_owner"


def _schema_owner_is_fl_owner(cur: object) -> bool:
    row = cur.execute(  # type: ignore[attr-defined]
        "SELECT n.nspowner = r.oid AS yes FROM pg_catalog.pg_namespace n, pg_catalog.pg_roles r"
        " WHERE n.nspname = 'fl' AND r.rolname = %s", (OWNER,)).fetchone()
    return bool(row and row[0])


def run_sql_file(name: str, *, as_owner: bool = True) -> None:
    text = resources.files("sql").joinpath(name).read_text("utf-8")
    raw = op.get_bind().connection.driver_connection
    with raw.cursor() as cur:
        switch = as_owner and _schema_owner_is_fl_owner(cur)
        if switch:
            cur.execute(f"SET ROLE {OWNER}")
        cur.execute(text)
        # (On an error the migration's transaction rolls back, and the SET ROLE with it.)
        cur.execute("RESET ROLE")
