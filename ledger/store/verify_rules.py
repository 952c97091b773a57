"""The API's rules re-derived (ledger.core.rules), online: the rows they need, read in the
independent verdict's pinned snapshot with the same COPY reading as every other row.

Three reads, all plain column selections (no server function computes anything the
checks depend on):

* ``small``: the held entries, users, request events, year closes, settings and units
  (``rules.TABLES``), before the proof starts;
* the accounts and the entries the proof streams anyway, seen as they pass (``rules.tee``);
* afterwards, the postings of the entries ``Rules.wanted`` names (manual entries,
  reversals, openings, entries dated after their writing day), by entry id — one row per
  distinct (entry, account, side, unit) with the first posting's id (``LEGS_SQL``): the
  rules read which accounts an entry touched on which side, never an amount, so the
  server groups and prints a settlement of a hundred claim lines on two accounts as two
  rows (a hash aggregate with ``min``, built-ins the catalogue check fingerprints like
  the ``string_agg`` of the proof's grouped reading), not a hundred.
* the postings on the few accounts that are a unit's own bank account (``Rules.own_accounts``),
  and on the fund balance accounts 3xxx (``Rules.fund_balance_accounts``, ATTACK11 Y3; with 4101.shortfall and a category off its component, ``Rules.watched_accounts``, in one read),
  by account id; those of the pre-allocations (``Rules.amount_ids``), by entry id; the
  postings a reconciliation match names, by id; the lines of the rejected held payments, by
  held entry id; and the payment namespaces' import lines in the register's (namespace,
  reference) order (``rules.CLAIM_COLS``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ledger.core import fund_rules, proof, rules
from ledger.core.findings import FINDINGS_CAP, CheckResult
from ledger.store.db import Conn

CopyRows = Callable[[Conn, str], Iterator[list[str]]]
CHUNK = 20_000


def small_sql(table: str) -> str:
    cols = ", ".join(f"t.{c}" + ("::pg_catalog.text" if c in rules.TEXT_COLS else "") for c in rules.TABLES[table])
    order = ", ".join(f"t.{c.strip()}" for c in rules.ORDER_BY[table].split(","))
    return f"SELECT {cols} FROM ONLY fl.{table} t ORDER BY {order}"


def legacy_sql() -> str:
    """The history versions ``rules.legacy_ids`` needs: each table's BACKFILL versions and
    its first INSERT version (by the history's own id index), in id order."""
    cols = "t.id, t.tbl, t.op, t.row_key::pg_catalog.text"
    parts = []
    for tbl in rules.LEGACY_TABLES:
        where = f"t.tbl OPERATOR(pg_catalog.=) '{tbl}'"
        parts.append(f"(SELECT {cols} FROM ONLY fl.record_log t WHERE {where} AND t.op OPERATOR(pg_catalog.=) 'BACKFILL')")
        parts.append(f"(SELECT {cols} FROM ONLY fl.record_log t WHERE {where} AND t.op OPERATOR(pg_catalog.=) 'INSERT' "
                     "ORDER BY t.id LIMIT 1)")
    return "SELECT * FROM (" + " UNION ALL ".join(parts) + ") v ORDER BY 1"


_VERSION_COLS = "t.id, t.tbl, t.op, t.row_key::pg_catalog.text, t.row_data::pg_catalog.text"


def rule_point_sql() -> str:
    """Every version of fl.rule_point (by the history's key index), in id order."""
    return (f"SELECT {_VERSION_COLS} FROM ONLY fl.record_log t WHERE t.tbl OPERATOR(pg_catalog.=) "
            f"'{rules.RULE_POINT_TABLE}' ORDER BY t.id")


def entry_either_side_sql(after_entry: int) -> str:
    """The history versions of entry ``after_entry`` and of the next entry above it (the
    history's key index: jsonb keys {"id": N} order by N), whose places
    ``rules.RulePoints`` judges a point by."""
    n = int(after_entry)
    where = "t.tbl OPERATOR(pg_catalog.=) 'fl.entry'"
    key = f"'{{\"id\": {n}}}'::pg_catalog.jsonb"
    return (f"SELECT * FROM ((SELECT {_VERSION_COLS} FROM ONLY fl.record_log t WHERE {where} "
            f"AND t.row_key OPERATOR(pg_catalog.=) {key} ORDER BY t.id LIMIT 1) UNION ALL "
            f"(SELECT {_VERSION_COLS} FROM ONLY fl.record_log t WHERE {where} "
            f"AND t.row_key OPERATOR(pg_catalog.>) {key} ORDER BY t.row_key, t.id LIMIT 1)) v")


def rule_points(conn: Conn, copy_rows: CopyRows) -> rules.RulePoints:
    """Where each duty rule took effect (sql/0068), from the chained history: the points'
    versions and, for each, the entries recorded either side of it."""
    points = list(copy_rows(conn, rule_point_sql()))
    around: list[list[str]] = []
    for v in points:
        after = rules.RulePoints.after_of(v[4])
        if after:
            around += copy_rows(conn, entry_either_side_sql(after))
    found = rules.RulePoints()
    for v in sorted({int(x[0]): x for x in points + around}.values(), key=lambda x: int(x[0])):
        found.feed(v)
    return found.finish()


def start(conn: Conn, copy_rows: CopyRows, cap: int = FINDINGS_CAP) -> rules.Rules:
    """The rules' state, with the small tables, the rows written before the chained
    history (``rules.legacy_ids``) and where each duty rule took effect
    (``rules.RulePoints``) read in this snapshot."""
    legacy = rules.legacy_ids(copy_rows(conn, legacy_sql()))
    points = rule_points(conn, copy_rows)
    small: dict[str, Iterable[list[str]]] = {t: list(copy_rows(conn, small_sql(t))) for t in rules.TABLES
                                             if t not in rules.STREAMED}
    # The held entries (one per entry on a maker-checker ledger) are streamed, not listed:
    # ``Rules`` reads them once as it is made, before anything else is read on this session
    # — a list of every held entry's fourteen texts was the verdict's peak memory per entry
    # (~900 bytes an entry, alive while the entries began to stream).
    for t in rules.STREAMED:
        small[t] = copy_rows(conn, small_sql(t))
    return rules.Rules(small, cap, legacy, points=points)


# The distinct legs of the wanted entries (``rules.Rules.distinct_legs``): (first posting id,
# entry, account, side, posting unit, its postings, those with a reference), in (entry, first
# posting id) order — the counts are what a payments entry's claim lines are judged by (X7).
LEGS_SQL = """SELECT pg_catalog.min(t.id), t.entry_id, t.account_id, t.side, t.unit, pg_catalog.count(*),
 pg_catalog.count(t.line_ref) FROM ONLY fl.posting t
 WHERE t.entry_id OPERATOR(pg_catalog.=) ANY ('{ids}'::pg_catalog.int8[])
 GROUP BY t.entry_id, t.account_id, t.side, t.unit ORDER BY 2, 1"""


# The amounts of the entries fund_rules reads (the closes', the allocations', the government
# shares' clearings), one row per (entry, account, side): a close of a hundred accounts is a
# hundred rows, a payment two.
SUMS_SQL = """SELECT t.entry_id, t.account_id, t.side, pg_catalog.sum(t.amount) FROM ONLY fl.posting t
 WHERE t.entry_id OPERATOR(pg_catalog.=) ANY ('{ids}'::pg_catalog.int8[])
 GROUP BY t.entry_id, t.account_id, t.side ORDER BY 1, 2, 3"""


def registers_sql() -> tuple[str, str]:
    """The government-share register items and their clearings (fund_rules.ITEM_COLS,
    CLEARING_COLS), by id: plain selections, the items by their kind."""
    icols = ", ".join(f"t.{c}" for c in fund_rules.ITEM_COLS)
    ccols = ", ".join(f"t.{c}" for c in fund_rules.CLEARING_COLS)
    gov = "i.kind OPERATOR(pg_catalog.=) 'government_share'"
    return (f"SELECT {icols} FROM ONLY fl.register_item t WHERE t.kind OPERATOR(pg_catalog.=) 'government_share' "
            "ORDER BY t.id",
            f"SELECT {ccols} FROM ONLY fl.register_clearing t WHERE t.item_id OPERATOR(pg_catalog.=) ANY "
            f"(ARRAY(SELECT i.id FROM ONLY fl.register_item i WHERE {gov})) ORDER BY t.id")


def finish(conn: Conn, copy_rows: CopyRows, r: rules.Rules) -> list[CheckResult]:
    """The distinct legs of the entries the rules want, by id (in chunks), then the verdict."""
    ids = r.wanted_ids()      # ascending, 8 bytes an id: no set of every kept entry beside the legs
    for i in range(0, len(ids), CHUNK):
        # (online) the entries whose legs came with the grouped postings (Rules.grouped_legs) are not read again
        chunk = [x for x in ids[i:i + CHUNK] if not r.has_legs(x)]
        if chunk:
            arr = "{" + ",".join(str(int(x)) for x in chunk) + "}"
            r.distinct_legs(copy_rows(conn, LEGS_SQL.format(ids=arr)), ids)
    cols = ", ".join(f"t.{c}" for c in proof.TABLES["posting"])
    amounts = sorted(r.amount_ids())
    for i in range(0, len(amounts), CHUNK):
        arr = "{" + ",".join(map(str, amounts[i:i + CHUNK])) + "}"
        r.amount_postings(copy_rows(conn, f"SELECT {cols} FROM ONLY fl.posting t WHERE t.entry_id "
                                          f"OPERATOR(pg_catalog.=) ANY ('{arr}'::pg_catalog.int8[]) ORDER BY t.entry_id, t.id"))
    own = sorted(int(a) for a in r.own_accounts())
    if own:
        arr = "{" + ",".join(map(str, own)) + "}"
        r.own_credits(copy_rows(conn, f"SELECT {cols} FROM ONLY fl.posting t WHERE t.account_id OPERATOR(pg_catalog.=) "
                                      f"ANY ('{arr}'::pg_catalog.int8[]) ORDER BY t.entry_id, t.id"))
    # the few accounts rules read by account: the fund balance 3xxx (ATTACK11 Y3), 4101.shortfall
    # (ATTACK14 V4), a category off its component (ATTACK14 V6) — one read for the three
    watched = sorted(int(a) for a in r.watched_accounts())
    if watched:
        arr = "{" + ",".join(map(str, watched)) + "}"
        r.watched_postings(copy_rows(conn, f"SELECT {cols} FROM ONLY fl.posting t WHERE t.account_id "
                                           f"OPERATOR(pg_catalog.=) ANY ('{arr}'::pg_catalog.int8[]) "
                                           "ORDER BY t.entry_id, t.id"))
    matched = sorted(int(x) for x in r.matched_ids())
    for i in range(0, len(matched), CHUNK):
        arr = "{" + ",".join(map(str, matched[i:i + CHUNK])) + "}"
        r.matched_postings(copy_rows(conn, f"SELECT {cols} FROM ONLY fl.posting t WHERE t.id OPERATOR(pg_catalog.=) "
                                           f"ANY ('{arr}'::pg_catalog.int8[]) ORDER BY t.id"))
    if r.rejected_payments:
        arr = "{" + ",".join(map(str, sorted(r.rejected_payments))) + "}"
        hcols = ", ".join(f"t.{c}" for c in rules.HELD_LINE_COLS)
        r.held_lines(copy_rows(conn, f"SELECT {hcols} FROM ONLY fl.pending_posting t WHERE t.pending_id "
                                     f"OPERATOR(pg_catalog.=) ANY ('{arr}'::pg_catalog.int8[]) ORDER BY t.pending_id, t.pos"))
    r.amounts_of_later_writes()
    sums = sorted(r.sum_ids)
    for i in range(0, len(sums), CHUNK):
        arr = "{" + ",".join(map(str, sums[i:i + CHUNK])) + "}"
        r.sum_postings(copy_rows(conn, SUMS_SQL.format(ids=arr)))
    items_sql, clearings_sql = registers_sql()
    r.registers(copy_rows(conn, items_sql), copy_rows(conn, clearings_sql))
    lcols = ", ".join(f"t.{c}" for c in rules.CLAIM_COLS)
    r.claims(copy_rows(conn, f"SELECT {lcols} FROM ONLY fl.import_line t ORDER BY t.namespace, t.reference"))
    return r.finish()
