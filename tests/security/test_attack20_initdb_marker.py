"""ATTACK20 L2 (HIGH): the superuser moves the verdict's "initdb's last transaction" marker and
every catalogue row it changed before becomes initdb's.

``ledger.store.verify_catalogue`` decides "changed after initdb" by comparing each built-in's
catalogue row's xmin with ``_INITDB_XID`` = the xmin of the ``pg_extension`` row of plpgsql
(read from the audited server at verify time). That row is an ordinary catalogue row a
superuser can rewrite (``UPDATE pg_catalog.pg_extension SET extname = extname WHERE extname =
'plpgsql'``): its xmin becomes the UPDATE's, later than any tamper done before it, and every
xmin test (operators, casts, types, aggregates, collations, conversions, languages, operator
classes, pg_amop/pg_amproc, and a pg_catalog function replaced into LANGUAGE sql that is not in
BUILTINS) passes. Renaming the row (``SET extname = 'plpgsql_'``) makes the marker NULL and every
``xmin > NULL`` test is NULL: the same, with no need to order the steps. Nothing checks the
pg_extension row itself. ATTACK B2's levers (the ``=`` of bigint running ``int8ne``, a type's
output function, an aggregate's transition function, a cast) then leave ``verify`` green, so the
reports/definer functions computed through them are trusted.

Safe behaviour asserted: each lever is still a catalogue finding after the marker row is
rewritten or renamed (the marker must come from something the audited server cannot move — e.g.
the greatest xmin among the rows of FIRST_NORMAL_OID-range objects made by initdb plus a check
that the plpgsql extension row is itself as initdb left it, or a fingerprint of the built-in
rows' content instead of their xmin).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.db

LEVERS = [
    "UPDATE pg_catalog.pg_operator SET oprcode = 'pg_catalog.int8ne'::regproc "
    "WHERE oid = 'pg_catalog.=(bigint, bigint)'::regoperator",
    "UPDATE pg_catalog.pg_aggregate SET aggtransfn = aggtransfn WHERE aggfnoid = 'pg_catalog.string_agg(text, text)'"
    "::regprocedure",
    "UPDATE pg_catalog.pg_type SET typoutput = typoutput WHERE oid = 'pg_catalog.int8'::regtype",
    "UPDATE pg_catalog.pg_cast SET castcontext = castcontext WHERE castsource = 'int8'::regtype "
    "AND casttarget = 'int4'::regtype",
    "CREATE OR REPLACE FUNCTION pg_catalog.int8abs(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT "
    "AS 'SELECT 0::bigint'",
]
MOVES = {
    "rewritten": "UPDATE pg_catalog.pg_extension SET extname = extname WHERE extname = 'plpgsql'",
    "renamed": "UPDATE pg_catalog.pg_extension SET extname = 'plpgsql_' WHERE extname = 'plpgsql'",
}


def _catalogue(out: dict) -> set[str]:
    return {f["account"] for c in out["checks"] if c["name"] == "catalogue" for f in c["findings"]}


@pytest.mark.parametrize("move", sorted(MOVES))
@pytest.mark.parametrize("lever", LEVERS, ids=["operator", "aggregate", "type", "cast", "sql-function"])
def test_l2_a_changed_builtin_stays_named_after_the_marker_row_moves(sample_db, lever, move):
    c = sample_db.admin()
    c.execute(lever)
    before = sample_db.cli("verify", "--json", user="aud")
    assert before.exit_code == 1 and _catalogue(before.json()["independent"]), before   # named, as B2 fixed
    c.execute(MOVES[move])
    after = sample_db.cli("verify", "--json", user="aud")
    # on main: exit 0, the catalogue check green — the change is initdb's now
    assert after.exit_code == 1, after.stdout[-600:]
    assert _catalogue(after.json()["independent"]), after.stdout[-600:]
