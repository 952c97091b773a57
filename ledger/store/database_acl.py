"""A copy of a ledger database carries the original's database privileges.

``CREATE DATABASE … TEMPLATE`` gives the copy PostgreSQL's default ACL (PUBLIC's CONNECT and
TEMPORARY), not the template's: the release's revokes (0016_db, 0027_db) are gone from it,
and the verdict names that (ATTACK20b M5). Whoever copies a ledger — the tests, the bench —
gives the copy the template's ACL, as a DBA re-runs the migration's database statements.
"""

from __future__ import annotations

from typing import Any


def copy_database_acl(conn: Any, name: str, template: str) -> None:
    """Give database ``name`` the ACL of database ``template`` (a superuser's autocommit
    connection; names are the server's, quoted here)."""
    rows = conn.execute("SELECT a.grantee = 0 AS public, a.grantee::regrole::text AS who, a.privilege_type AS priv, "
                        "a.is_grantable AS g FROM pg_catalog.pg_database d, pg_catalog.aclexplode(d.datacl) a "
                        "WHERE d.datname = %s", (template,)).fetchall()
    if not rows:
        return
    conn.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    for row in rows:
        public, who, priv, grantable = row.values() if isinstance(row, dict) else row
        conn.execute(f'GRANT {priv} ON DATABASE "{name}" TO {"PUBLIC" if public else who}'
                     + (" WITH GRANT OPTION" if grantable else ""))
