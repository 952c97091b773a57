"""The built-ins judged by what their rows say and by a constant of PostgreSQL, never by a
reference point read from the audited database (ATTACK7 U1b and its addendum, ATTACK20 L2).

The catalogue check called a built-in catalogue row "changed after initdb" when its xmin
was newer than one anchor row's (pg_extension's plpgsql). The anchor is a row like any
other: a superuser rewrote it (``UPDATE pg_extension SET extversion = extversion``, U1b) or
renamed it (``SET extname = 'plpgsql_'``: the anchor NULL and every ``xmin > NULL`` test
NULL, L2), and every earlier change counted as initdb's. Cross-checking several of initdb's
rows against each other does not mend that: the superuser rewrites them all in one
transaction and they agree again, on its own transaction id. Nothing in the audited database
is a row the superuser cannot rewrite, so no tamper check may take its reference point from
one. The rules now use only what the verifier knows without the database:

* **Content.** The rows genbki.pl writes from PostgreSQL's ``.dat`` files (oid below
  12,000: functions, operators, types, casts, aggregates, operator classes, families and
  their members, access methods, languages, collations, conversions) are identical on
  every installation of one major version. The release ships a digest of each such row
  for the versions it was measured on (``ledger/data/builtins/pg<major>.json``, written
  by ``FUNDLEDGER_WRITE_BUILTINS=1`` from a fresh server); the verifier prints each row
  with ``to_jsonb`` in its pinned session and hashes it with hashlib. A row changed,
  missing or added is a finding naming it, whatever its xmin says. On a major version with
  no shipped digests that is itself a finding: a pg_catalog function replaced in place by
  a SQL one could not be told from PostgreSQL's own (``NO_DIGESTS``).
* **Written once, at bootstrap.** Bootstrap stamps every genbki row with
  BootstrapTransactionId, xid 1; no transaction after it ever gets 0, 1 or 2 (after
  wraparound the counter skips to 3), and freezing keeps xmin (VACUUM FREEZE and VACUUM
  FULL set hint bits since 9.4). So a genbki row of an operator, type, cast, aggregate,
  operator class, family or member, access method, language, conversion or collation whose
  xmin is not 1 was written after bootstrap — a fact of the row itself, with no reference
  point, wraparound or not (``WRITTEN_ONCE``). Measured on 15 and 18: initdb writes none of
  them again, except the ICU collation whose version it records (16+: ``unicode``; ALTER
  COLLATION … REFRESH VERSION does the same later), judged by content. pg_proc is not in
  it: initdb's SQL scripts and the ledger's migrations rewrite built-in functions
  (``CREATE OR REPLACE`` with defaults, REVOKE EXECUTE), and they are judged by content.
  A no-op rewrite (``SET castcontext = castcontext``) is named too: it proves a superuser
  wrote pg_catalog by hand.
* **Reference.** Whatever the version: a built-in row (aggregate, operator, cast, type,
  operator-class member, language) that points at a function made after initdb (oid
  16,384 or more) is a finding. PostgreSQL never does that.
* **Initdb's SQL range** (12,000–16,383, oids that depend on the machine's locales, so no
  digest): only the objects initdb's scripts make there, each judged by rule — five C
  functions of pg_catalog by symbol and library, plpgsql's language row by its handlers,
  and each type (the rowtypes of the system views, information_schema's domains and the
  arrays of both) by the input/output functions PostgreSQL gives its kind. No operator,
  cast, aggregate, operator class or family or member, access method or conversion is made
  there. (The locale collations imported there are not judged: ALTER COLLATION … REFRESH
  VERSION rewrites them honestly, and the ledger uses none — every column's collation other
  than its type's is in the schema's fingerprint.)
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path

from psycopg.rows import tuple_row

from ledger.core.findings import Finding, said
from ledger.store.db import Conn

# genbki's rows end below FirstUnpinnedObjectId; initdb's SQL scripts made the rest.
GENBKI_END = 12000
FIRST_NORMAL_OID = 16384

# catalogue -> (key column, columns left out: privileges differ per installation by design,
# and the ledger's own migrations revoke EXECUTE on a few built-ins).
CATALOGUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pg_proc": ("oid", ("proacl",)),
    "pg_operator": ("oid", ()),
    "pg_type": ("oid", ("typacl",)),
    "pg_cast": ("oid", ()),
    "pg_aggregate": ("aggfnoid", ()),
    "pg_amop": ("oid", ()),
    "pg_amproc": ("oid", ()),
    "pg_opclass": ("oid", ()),
    "pg_opfamily": ("oid", ()),
    "pg_am": ("oid", ()),
    "pg_language": ("oid", ("lanacl",)),
    "pg_collation": ("oid", ()),
    "pg_conversion": ("oid", ()),
}


def _rows_sql(table: str) -> str:
    key, dropped = CATALOGUES[table]
    minus = "".join(f" OPERATOR(pg_catalog.-) '{c}'::pg_catalog.text" for c in dropped)
    return (f"SELECT x.{key}::pg_catalog.int8 AS k, (pg_catalog.to_jsonb(x){minus})::pg_catalog.text AS j "
            f"FROM pg_catalog.{table} x WHERE x.{key} OPERATOR(pg_catalog.<) {GENBKI_END}::pg_catalog.oid")


# What the verifier reads per row: the row whole, and the value of its privileges column
# alone, both printed by to_jsonb. Deleting the key on the server (jsonb ``-``) rebuilt
# every row a second time, the larger part of the check's cost (pg_proc: ~3,400 rows per
# verify); the same text is cut here instead (``_without``).
def _whole_sql(table: str) -> str:
    key, dropped = CATALOGUES[table]
    acl = f"pg_catalog.to_jsonb(x.{dropped[0]})::pg_catalog.text" if dropped else "NULL::pg_catalog.text"
    return (f"SELECT x.{key}::pg_catalog.int8 AS k, pg_catalog.to_jsonb(x)::pg_catalog.text AS j, {acl} AS a "
            f"FROM pg_catalog.{table} x WHERE x.{key} OPERATOR(pg_catalog.<) {GENBKI_END}::pg_catalog.oid")


def _without(text: str, column: str, value: str) -> str | None:
    """``(to_jsonb(x) - column)::text`` from ``to_jsonb(x)::text`` and ``to_jsonb(x.column)::text``
    (jsonb prints the pair as ``, "column": value`` wherever it sits: "oid" is shorter and
    sorts first). Inside a JSON string every quote is escaped, so an unescaped
    ``, "column": `` is the object's own key; found other than exactly once (or not closed
    by ``,`` or ``}``), None: the caller asks the server for that row."""
    pair = f', "{column}": {value}'
    at = text.find(pair)
    if at < 0 or text.find(pair, at + 1) >= 0 or text[at + len(pair):at + len(pair) + 1] not in (",", "}"):
        return None
    return text[:at] + text[at + len(pair):]


def digests(conn: Conn) -> dict[str, dict[str, str]]:
    """Each genbki row of CATALOGUES as printed in the (pinned) session: table -> key ->
    the first 16 hex digits of the SHA-256 of its JSON text (``(to_jsonb(x) - acl)::text``)."""
    out: dict[str, dict[str, str]] = {}
    for table, (key, dropped) in CATALOGUES.items():
        got: dict[str, str] = {}
        odd: list[int] = []
        with conn.cursor(row_factory=tuple_row) as cur:
            rows = cur.execute(_whole_sql(table)).fetchall()
        for k, j, a in rows:
            # a NULL column prints as null inside the row (to_jsonb of NULL is NULL)
            text = _without(str(j), dropped[0], "null" if a is None else str(a)) if dropped else str(j)
            if text is None:
                odd.append(int(k))
                continue
            got[str(k)] = hashlib.sha256(text.encode()).hexdigest()[:16]
        if odd:
            for r in conn.execute(_rows_sql(table) + f" AND x.{key} OPERATOR(pg_catalog.=) ANY (%s::pg_catalog.oid[])",
                                  (odd,)).fetchall():
                got[str(r["k"])] = hashlib.sha256(str(r["j"]).encode()).hexdigest()[:16]
        out[table] = got
    return out


def major(conn: Conn) -> int:
    row = conn.execute("SELECT pg_catalog.current_setting('server_version_num') AS v").fetchone()
    return int(str(row["v"] if row else "0")) // 10000


@cache
def shipped(version: int) -> dict[str, dict[str, str]] | None:
    """The digests shipped for a major version, or None."""
    f = resources.files("ledger.data").joinpath("builtins").joinpath(f"pg{version}.json")
    if not f.is_file():
        return None
    data: dict[str, dict[str, str]] = json.loads(f.read_text("utf-8"))
    return data


def write(conn: Conn, directory: Path | None = None) -> Path:
    """Write this server's digests for its major version (from a fresh server only)."""
    target = directory or Path(str(resources.files("ledger.data").joinpath("builtins")))
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"pg{major(conn)}.json"
    path.write_text(json.dumps(digests(conn), sort_keys=True, separators=(",", ":")) + "\n", "utf-8")
    shipped.cache_clear()
    return path


# PostgreSQL's BootstrapTransactionId: the xmin of every row genbki writes. No later
# transaction is ever given it (GetNewTransactionId skips 0-2, wraparound included).
BOOTSTRAP_XID = "1"
_G = f"OPERATOR(pg_catalog.<) {GENBKI_END}::pg_catalog.oid"
_NOT_BOOTSTRAP = f"x.xmin::pg_catalog.text OPERATOR(pg_catalog.<>) '{BOOTSTRAP_XID}'::pg_catalog.text"
# The catalogues whose genbki rows initdb never writes again (measured on 15 and 18), each
# row named as a reader knows it, with the transaction that wrote it.
WRITTEN_ONCE: dict[str, str] = {
    "pg_operator": "'operator pg_catalog.' || x.oid::pg_catalog.regoperator::pg_catalog.text",
    "pg_type": "'type pg_catalog.' || x.oid::pg_catalog.regtype::pg_catalog.text",
    "pg_cast": "'cast ' || x.castsource::pg_catalog.regtype::pg_catalog.text || ' -> ' "
               "|| x.casttarget::pg_catalog.regtype::pg_catalog.text",
    "pg_aggregate": "'aggregate pg_catalog.' || x.aggfnoid::pg_catalog.regprocedure::pg_catalog.text",
    "pg_amop": "'operator family member ' || x.amopopr::pg_catalog.regoperator::pg_catalog.text",
    "pg_amproc": "'support function ' || x.amproc::pg_catalog.regprocedure::pg_catalog.text",
    "pg_opclass": "'operator class ' || x.opcname::pg_catalog.text",
    "pg_opfamily": "'operator family ' || x.opfname::pg_catalog.text",
    "pg_am": "'access method ' || x.amname::pg_catalog.text",
    "pg_language": "'language ' || x.lanname::pg_catalog.text",
    "pg_conversion": "'conversion ' || x.conname::pg_catalog.text",
    "pg_collation": "'collation ' || x.collname::pg_catalog.text",
}
# (initdb 16+ records the ICU ``unicode`` collation's version, and REFRESH VERSION does later:
# an ICU collation's row is judged by content only.)
_EXEMPT = {"pg_collation": " AND x.collprovider OPERATOR(pg_catalog.<>) 'i'::\"char\""}
_REWRITTEN = "\nUNION ALL\n".join(
    f"SELECT {what} AS what, x.xmin::pg_catalog.text AS xid FROM pg_catalog.{table} x "
    f"WHERE x.{CATALOGUES[table][0]} {_G} AND {_NOT_BOOTSTRAP}{_EXEMPT.get(table, '')}"
    for table, what in WRITTEN_ONCE.items())


def rewritten_findings(conn: Conn) -> list[Finding]:
    """Genbki rows of WRITTEN_ONCE catalogues whose xmin is not bootstrap's."""
    return [Finding("catalogue", said("{what} was changed after initdb: PostgreSQL writes its catalogue row once, at bootstrap "
                                      "(transaction 1), and transaction {xid} rewrote it — it decides what a built-in computes "
                                      "or prints", what=r['what'], xid=r['xid']), account=str(r["what"]))
            for r in conn.execute(_REWRITTEN).fetchall()]


# Built-in rows that point at a function made after initdb (any schema): PostgreSQL's own
# never do, whatever the version.
_FOREIGN_REFS = f"""
SELECT 'aggregate pg_catalog.' || a.aggfnoid::pg_catalog.regprocedure::pg_catalog.text AS what
  FROM pg_catalog.pg_aggregate a
 WHERE a.aggfnoid OPERATOR(pg_catalog.<) {FIRST_NORMAL_OID}::pg_catalog.oid
   AND GREATEST(a.aggtransfn::pg_catalog.oid, a.aggfinalfn::pg_catalog.oid, a.aggcombinefn::pg_catalog.oid,
                           a.aggserialfn::pg_catalog.oid, a.aggdeserialfn::pg_catalog.oid,
                           a.aggmtransfn::pg_catalog.oid, a.aggminvtransfn::pg_catalog.oid,
                           a.aggmfinalfn::pg_catalog.oid) OPERATOR(pg_catalog.>=) {FIRST_NORMAL_OID}::pg_catalog.oid
UNION ALL
SELECT 'operator pg_catalog.' || o.oid::pg_catalog.regoperator::pg_catalog.text FROM pg_catalog.pg_operator o
 WHERE o.oid OPERATOR(pg_catalog.<) {FIRST_NORMAL_OID}::pg_catalog.oid
   AND GREATEST(o.oprcode::pg_catalog.oid, o.oprrest::pg_catalog.oid, o.oprjoin::pg_catalog.oid)
       OPERATOR(pg_catalog.>=) {FIRST_NORMAL_OID}::pg_catalog.oid
UNION ALL
SELECT 'cast ' || c.castsource::pg_catalog.regtype::pg_catalog.text || ' -> '
       || c.casttarget::pg_catalog.regtype::pg_catalog.text FROM pg_catalog.pg_cast c
 WHERE c.oid OPERATOR(pg_catalog.<) {FIRST_NORMAL_OID}::pg_catalog.oid
   AND c.castfunc OPERATOR(pg_catalog.>=) {FIRST_NORMAL_OID}::pg_catalog.oid
UNION ALL
SELECT 'type pg_catalog.' || t.oid::pg_catalog.regtype::pg_catalog.text FROM pg_catalog.pg_type t
 WHERE t.oid OPERATOR(pg_catalog.<) {FIRST_NORMAL_OID}::pg_catalog.oid
   AND GREATEST(t.typinput::pg_catalog.oid, t.typoutput::pg_catalog.oid, t.typreceive::pg_catalog.oid,
                           t.typsend::pg_catalog.oid, t.typmodin::pg_catalog.oid, t.typmodout::pg_catalog.oid,
                           t.typanalyze::pg_catalog.oid) OPERATOR(pg_catalog.>=) {FIRST_NORMAL_OID}::pg_catalog.oid
UNION ALL
SELECT 'support function ' || a.amproc::pg_catalog.regprocedure::pg_catalog.text FROM pg_catalog.pg_amproc a
 WHERE a.oid OPERATOR(pg_catalog.<) {FIRST_NORMAL_OID}::pg_catalog.oid
   AND a.amproc OPERATOR(pg_catalog.>=) {FIRST_NORMAL_OID}::pg_catalog.oid
UNION ALL
SELECT 'language ' || l.lanname FROM pg_catalog.pg_language l
 WHERE l.oid OPERATOR(pg_catalog.<) {FIRST_NORMAL_OID}::pg_catalog.oid
   AND GREATEST(l.lanplcallfoid, l.laninline, l.lanvalidator) OPERATOR(pg_catalog.>=)
       {FIRST_NORMAL_OID}::pg_catalog.oid
"""


# What initdb's SQL scripts put between genbki's rows and the first normal oid (12,000 to
# 16,383) that a query could resolve: in pg_catalog, only these C functions (the snowball
# dictionaries and plpgsql's handlers, the same on 15 and 18); never an operator, cast,
# aggregate or operator-class member. Anything else there was put there by hand (ATTACK8
# V9: a concat_ws overload and ||(text, bigint) operators placed in this range escaped
# both the content digests, which end at 12,000, and the additions check, which began at
# 16,384).
INITDB_SQL_FUNCTIONS: dict[str, tuple[str, str]] = {
    "dsnowball_init(internal)": ("dsnowball_init", "$libdir/dict_snowball"),
    "dsnowball_lexize(internal,internal,internal,internal)": ("dsnowball_lexize", "$libdir/dict_snowball"),
    "plpgsql_call_handler()": ("plpgsql_call_handler", "$libdir/plpgsql"),
    "plpgsql_inline_handler(internal)": ("plpgsql_inline_handler", "$libdir/plpgsql"),
    "plpgsql_validator(oid)": ("plpgsql_validator", "$libdir/plpgsql"),
}
_GAP = f"{GENBKI_END}::pg_catalog.oid AND {FIRST_NORMAL_OID}::pg_catalog.oid"
_GAP_ROWS = f"""
SELECT 'operator pg_catalog.' || o.oid::pg_catalog.regoperator::pg_catalog.text AS what, NULL AS sig,
       NULL AS lang, NULL AS src, NULL AS bin
  FROM pg_catalog.pg_operator o WHERE o.oid BETWEEN {_GAP}
UNION ALL
SELECT 'cast ' || c.castsource::pg_catalog.regtype::pg_catalog.text || ' -> '
       || c.casttarget::pg_catalog.regtype::pg_catalog.text, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_cast c WHERE c.oid BETWEEN {_GAP}
UNION ALL
SELECT 'aggregate pg_catalog.' || a.aggfnoid::pg_catalog.regprocedure::pg_catalog.text, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid BETWEEN {_GAP}
UNION ALL
SELECT 'operator family member ' || a.amopopr::pg_catalog.regoperator::pg_catalog.text, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_amop a WHERE a.oid BETWEEN {_GAP}
UNION ALL
SELECT 'support function ' || a.amproc::pg_catalog.regprocedure::pg_catalog.text, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_amproc a WHERE a.oid BETWEEN {_GAP}
UNION ALL
SELECT 'operator class ' || c.opcname::pg_catalog.text, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_opclass c WHERE c.oid BETWEEN {_GAP}
UNION ALL
SELECT 'operator family ' || f.opfname::pg_catalog.text, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_opfamily f WHERE f.oid BETWEEN {_GAP}
UNION ALL
SELECT 'access method ' || a.amname::pg_catalog.text, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_am a WHERE a.oid BETWEEN {_GAP}
UNION ALL
SELECT 'conversion ' || c.conname::pg_catalog.text, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_conversion c WHERE c.oid BETWEEN {_GAP}
UNION ALL
SELECT 'function pg_catalog.' || p.oid::pg_catalog.regprocedure::pg_catalog.text,
       p.oid::pg_catalog.regprocedure::pg_catalog.text, l.lanname::pg_catalog.text, p.prosrc, p.probin
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
 WHERE p.oid BETWEEN {_GAP} AND p.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
"""

# initdb's one language in its SQL range: plpgsql, run by its own three C functions (judged
# above by symbol and library), trusted, owned by the bootstrap superuser.
_GAP_LANGUAGES = f"""
SELECT 'language ' || l.lanname::pg_catalog.text AS what
  FROM pg_catalog.pg_language l
 WHERE l.oid BETWEEN {_GAP}
   AND NOT COALESCE(l.lanname OPERATOR(pg_catalog.=) 'plpgsql'::pg_catalog.name AND l.lanispl AND l.lanpltrusted
                    AND l.lanowner OPERATOR(pg_catalog.=) 10::pg_catalog.oid
                    AND l.lanplcallfoid OPERATOR(pg_catalog.=)
                        pg_catalog.to_regprocedure('pg_catalog.plpgsql_call_handler()')::pg_catalog.oid
                    AND l.laninline OPERATOR(pg_catalog.=)
                        pg_catalog.to_regprocedure('pg_catalog.plpgsql_inline_handler(internal)')::pg_catalog.oid
                    AND l.lanvalidator OPERATOR(pg_catalog.=)
                        pg_catalog.to_regprocedure('pg_catalog.plpgsql_validator(oid)')::pg_catalog.oid, false)
"""
# initdb's types in its SQL range (the system views' rowtypes, information_schema's
# domains, and their arrays), each with the input, output, receive, send, typmod,
# analyze and subscript functions PostgreSQL gives its kind: a rowtype record_*, a domain
# domain_in/domain_recv and its base's output, send and analyze (no subscripting), an array
# array_* and its element's typmod functions. A type of another kind there, or a function
# other than its kind's, was put there by hand.
_TYPE_FUNCS = """pg_catalog.concat_ws('|', {t}.typinput::pg_catalog.regproc::pg_catalog.text,
       {t}.typoutput::pg_catalog.regproc::pg_catalog.text, {t}.typreceive::pg_catalog.regproc::pg_catalog.text,
       {t}.typsend::pg_catalog.regproc::pg_catalog.text, {t}.typmodin::pg_catalog.regproc::pg_catalog.text,
       {t}.typmodout::pg_catalog.regproc::pg_catalog.text, {t}.typanalyze::pg_catalog.regproc::pg_catalog.text,
       {t}.typsubscript::pg_catalog.regproc::pg_catalog.text)"""
_GAP_TYPES = f"""
SELECT 'type ' || n.nspname::pg_catalog.text || '.' || t.typname::pg_catalog.text AS what,
       {_TYPE_FUNCS.format(t="t")} AS got,
       CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'c'::"char" AND t.typelem OPERATOR(pg_catalog.=) 0::pg_catalog.oid
            THEN 'record_in|record_out|record_recv|record_send|-|-|-|-'
            WHEN t.typtype OPERATOR(pg_catalog.=) 'd'::"char" AND t.typelem OPERATOR(pg_catalog.=) 0::pg_catalog.oid
            THEN pg_catalog.concat_ws('|', 'domain_in', b.typoutput::pg_catalog.regproc::pg_catalog.text,
                                      'domain_recv', b.typsend::pg_catalog.regproc::pg_catalog.text, '-', '-',
                                      b.typanalyze::pg_catalog.regproc::pg_catalog.text, '-')
            WHEN t.typtype OPERATOR(pg_catalog.=) 'b'::"char" AND e.typarray OPERATOR(pg_catalog.=) t.oid
            THEN pg_catalog.concat_ws('|', 'array_in', 'array_out', 'array_recv', 'array_send',
                                      e.typmodin::pg_catalog.regproc::pg_catalog.text,
                                      e.typmodout::pg_catalog.regproc::pg_catalog.text, 'array_typanalyze',
                                      'array_subscript_handler')
       END AS want
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
  LEFT JOIN pg_catalog.pg_type b ON b.oid OPERATOR(pg_catalog.=) t.typbasetype
  LEFT JOIN pg_catalog.pg_type e ON e.oid OPERATOR(pg_catalog.=) t.typelem
 WHERE t.oid BETWEEN {_GAP}
"""


def gap_findings(conn: Conn) -> list[Finding]:
    """Rows in initdb's SQL range (12,000–16,383) that PostgreSQL does not put there."""
    out = []
    for r in conn.execute(_GAP_ROWS).fetchall():
        want = INITDB_SQL_FUNCTIONS.get(str(r["sig"])) if r["sig"] is not None else None
        if want is not None and r["lang"] == "c" and (r["src"], r["bin"]) == want:
            continue
        out.append(Finding("catalogue", said("{what} sits among the objects initdb makes, but PostgreSQL makes no such object there: "
                                             "it was put there by hand, where it would resolve like a built-in", what=r['what']),
                           account=str(r["what"])))
    for r in conn.execute(_GAP_LANGUAGES).fetchall():
        out.append(Finding("catalogue", said("{what} sits among the objects initdb makes, but it is not plpgsql as initdb makes it "
                                             "(trusted, owned by the bootstrap superuser, run by plpgsql's own call, inline and "
                                             "validator functions): every function in it runs what its row says", what=r['what']),
                           account=str(r["what"])))
    for r in conn.execute(_GAP_TYPES).fetchall():
        if r["want"] is not None and r["got"] == r["want"]:
            continue
        out.append(Finding("catalogue", said("{what} sits among the objects initdb makes, but its functions ({got}) are not those "
                                             "PostgreSQL gives its kind{value}: it decides how the type is read and printed", what=r['what'], got=r['got'], value=' (' + str(r['want']) + ')' if r['want'] else ''), account=str(r["what"])))
    return out


def _name(conn: Conn, table: str, key: str) -> str:
    """A readable name for a built-in row (its key is an oid)."""
    what = {"pg_proc": ("function pg_catalog.", "regprocedure"), "pg_aggregate": ("aggregate pg_catalog.", "regprocedure"),
            "pg_operator": ("operator pg_catalog.", "regoperator"), "pg_type": ("type pg_catalog.", "regtype")}
    if table in what:
        prefix, cast = what[table]
        row = conn.execute(f"SELECT %s::pg_catalog.oid::pg_catalog.{cast}::pg_catalog.text AS n", (int(key),)).fetchone()
        return f"{prefix}{row['n'] if row else key}"
    return f"{table} row {key}"

# Without digests for the server's major version the verdict cannot say the built-ins are
# PostgreSQL's: say so, rather than trust the xmin of a row the superuser can rewrite.
NO_DIGESTS = ("the server is PostgreSQL {v}, and the release ships no digests of that major version's built-ins "
              "(ledger/data/builtins: PostgreSQL 15 and 18): a pg_catalog function or row rewritten in place — "
              "CREATE OR REPLACE into a SQL function, an UPDATE of pg_proc — cannot be told from PostgreSQL's own, "
              "so the verdict cannot vouch for what the built-ins compute. Use a release measured on this version "
              "(FUNDLEDGER_WRITE_BUILTINS=1 on a fresh server writes its digests)")


def check(conn: Conn) -> tuple[int, list[Finding], bool]:
    """(rows checked, findings, whether content digests exist for this server's version)."""
    findings = [Finding("catalogue", said("{what} now calls a function made after initdb: a built-in every query resolves computes "
                                          "what that function says", what=r['what']), account=str(r["what"]))
                for r in conn.execute(_FOREIGN_REFS).fetchall()]
    findings += gap_findings(conn)
    findings += rewritten_findings(conn)
    version = major(conn)
    want = shipped(version)
    if want is None:
        findings.append(Finding("catalogue", NO_DIGESTS.format(v=version), account=said("built-ins of PostgreSQL {version}", version=version)))
        return len(findings), findings, False
    got = digests(conn)
    n = 0
    for table, rows in want.items():
        have = got.get(table, {})
        n += len(rows)
        for key in sorted(set(rows) | set(have), key=int):
            if rows.get(key) == have.get(key):
                continue
            name = _name(conn, table, key)
            how = ("is missing" if key not in have else "was added" if key not in rows else
                   "differs from the one PostgreSQL ships (its catalogue row was rewritten)")
            findings.append(Finding("catalogue", said("{name} ({table}) {how}: it decides what a built-in computes or prints, whatever the "
                                                      "row's age says", name=name, table=table, how=how), account=name))
    return n, findings, True

