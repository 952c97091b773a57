"""The checks that read every posting, fused into one pass over ``fl.posting``.

Six of verify's checks are sums of postings compared with something: each entry's
debits and credits, each account's totals, each account-day's movement, each bank
account's balance and running balance, and the copies a posting keeps of its entry's
date and its account's unit. Run one by one they scanned ``fl.posting`` six times. Here
one grouped pass reduces the postings to one row per (entry, account, date, unit) — the
finest grain any of those checks needs, a handful of rows per entry — and every check
reads that much smaller set (a materialised CTE) in the same statement. Each check's
findings come back tagged with its name, at most ``cap`` + 1 each.

The grouping keys carry everything posting_copies compares, so a bad copy is found at
group level; the postings of the few groups found are then listed one by one (an index
lookup by entry) so that findings still name each posting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.core.findings import said
from ledger.core.money import format_yuan
from ledger.store.db import Conn
from ledger.store.plans import pinned


def _fen(v: Any) -> str:
    return format_yuan(int(v or 0))


@dataclass(frozen=True)
class PostingCheck:
    """One check answered from the grouped postings: its finding rows (columns named as
    the message reads them) and how a row reads to an auditor."""

    name: str
    description: str
    counts: str                      # key into the counts query: what "checked" counts
    sql: str                         # reads the CTEs g (grouped postings) and ga (g with entry and account)
    message: Callable[[dict[str, Any]], str]


# g: postings grouped to (entry, account, date, unit) — every key a check compares.
# ga: g beside its entry and account (either may be missing after tampering).
GROUPED_SQL = """
g AS MATERIALIZED (
  SELECT p.entry_id, p.account_id, p.entry_date, p.unit, count(*) AS n,
         coalesce(sum(p.amount) FILTER (WHERE p.side = 'D'), 0) AS dr,
         coalesce(sum(p.amount) FILTER (WHERE p.side = 'C'), 0) AS cr
    FROM ONLY fl.posting p
   GROUP BY p.entry_id, p.account_id, p.entry_date, p.unit),
ga AS MATERIALIZED (
  SELECT g.*, e.id IS NULL AS no_entry, a.id IS NULL AS no_account, e.book AS ebook, e.entry_date AS edate,
         e.created_xid, a.book AS abook, a.unit AS aunit, a.component, a.bank_account_id
    FROM g LEFT JOIN ONLY fl.entry e ON e.id = g.entry_id LEFT JOIN ONLY fl.account a ON a.id = g.account_id)
"""

# (0107) A line reference outside the reference form, written out (not fl.reference_form_ok: the
# database's own function is what this pass checks): at most 150 characters; printable ASCII
# without a space at either end, or the repertoire (汉字, 〇, the punctuation of document numbers)
# in NFKC without a space at either end.
LINE_REF_BAD = r"""(p.line_ref IS NOT NULL AND NOT (length(p.line_ref) <= 150 AND (
      p.line_ref ~ '^[!-~](?:[ -~]*[!-~])?$'
      OR p.line_ref ~ '^[ -~\u3001\u3002\u3007\u300a-\u3011\u3014-\u3017\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef\U00030000-\U0003134f]*$'
         AND p.line_ref !~ '^ | $' AND p.line_ref IS NFKC NORMALIZED)))"""
# The postings are read for it only while the CHECK that holds it (posting_line_ref_form) is not
# validated: a validated CHECK has judged every row, and one dropped or added back NOT VALID (a
# DBA's write between) leaves the pass to name the rows. (The catalogue check names the CHECK
# dropped or altered; the independent verdict judges every posting whatever the catalogue says.)
LINE_REF_UNCHECKED = """NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                    WHERE c.conrelid = 'fl.posting'::pg_catalog.regclass AND c.conname = 'posting_line_ref_form'
                      AND c.convalidated)"""

# The posting-level detail of posting_copies, for the entries whose groups failed it.
_COPIES_DETAIL_SQL = """
SELECT p.id AS posting_id, p.entry_id, e.id IS NULL AS no_entry, a.id IS NULL AS no_account,
       p.entry_date AS pdate, e.entry_date AS edate, p.unit AS punit, a.unit AS aunit,
       a.book AS abook, e.book AS ebook, s.book, s.fiscal_year, s.voucher_no,
       CASE WHEN """ + LINE_REF_BAD + """ THEN p.line_ref END AS bad_ref
  FROM ONLY fl.posting p LEFT JOIN ONLY fl.entry e ON e.id = p.entry_id
  LEFT JOIN ONLY fl.account a ON a.id = p.account_id LEFT JOIN ONLY fl.seal s ON s.entry_id = p.entry_id
 WHERE p.entry_id = ANY(%(entries)s)
   AND (e.id IS NULL OR a.id IS NULL OR p.entry_date <> e.entry_date OR p.unit <> a.unit OR a.book <> e.book
        OR """ + LINE_REF_BAD + """)
 ORDER BY p.id
 LIMIT %(limit)s
"""

_SEAL_COLS = "s.book, s.fiscal_year, s.voucher_no"


def _copies_message(r: dict[str, Any]) -> str:
    return f"posting {r['posting_id']}: " + (
        "its entry does not exist" if r["no_entry"] else
        "its account does not exist" if r["no_account"] else
        f"dated {r['pdate']} but its entry is dated {r['edate']}" if r["pdate"] != r["edate"] else
        f"carries unit {r['punit']} but its account belongs to {r['aunit']}" if r["punit"] != r["aunit"] else
        f"its account is in book {r['abook']}, its entry in book {r['ebook']}" if r["abook"] != r["ebook"] else
        f"its line reference {r['bad_ref']!r} is outside the reference form: at most 150 characters, printable "
        "ASCII without a space at either end, 汉字 and the punctuation of document numbers, NFKC (line_ref_form)")


POSTING_CHECKS: tuple[PostingCheck, ...] = (
    PostingCheck(
        "entry_balanced", "every entry has >= 2 postings and balances per (book, unit, component)", "entries", f"""
        SELECT e.id AS entry_id, coalesce(c.n, 0) AS n, NULL::bigint AS dr, NULL::bigint AS cr, NULL AS ebook,
               NULL AS unit, NULL AS component, {_SEAL_COLS}
          FROM ONLY fl.entry e LEFT JOIN (SELECT entry_id, sum(n) AS n FROM ga GROUP BY entry_id) c ON c.entry_id = e.id
          LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
         WHERE coalesce(c.n, 0) < 2
        UNION ALL
        SELECT l.entry_id, NULL, l.dr, l.cr, l.ebook, l.unit, l.component, {_SEAL_COLS} FROM (
          SELECT entry_id, ebook, aunit AS unit, component, sum(dr) AS dr, sum(cr) AS cr
            FROM ga WHERE NOT no_entry AND NOT no_account
           GROUP BY entry_id, ebook, aunit, component) l
          LEFT JOIN ONLY fl.seal s ON s.entry_id = l.entry_id
         WHERE l.dr <> l.cr""",
        lambda r: (said("has {n} posting(s); an entry needs at least two", n=r['n']) if r['n'] is not None else said("debits {value} ≠ credits {value2} for book {ebook}, unit {unit}{more}", value=_fen(r['dr']), value2=_fen(r['cr']), ebook=r['ebook'], unit=r['unit'], more=f", component {r['component']}" if r['component'] else ''))),
    PostingCheck(
        "posting_copies", "each posting's entry and account exist, its line reference is in the reference form "
        "(0107), its date is its entry's, its unit its account's, its account in its entry's book", "postings", """
        SELECT DISTINCT entry_id FROM ga
         WHERE no_entry OR no_account OR entry_date <> edate OR unit <> aunit OR abook <> ebook
        UNION
        SELECT DISTINCT p.entry_id FROM ONLY fl.posting p WHERE """ + LINE_REF_UNCHECKED + " AND " + LINE_REF_BAD,
        _copies_message),
    PostingCheck(
        "account_balances", "fl.account debits, credits and balance equal the sums of its postings", "accounts", """
        SELECT coalesce(a.id, t.account_id) AS account_id, a.id IS NULL AS missing,
               a.debits, a.credits, a.balance, coalesce(t.dr, 0) AS dr, coalesce(t.cr, 0) AS cr,
               concat_ws(':', a.book, a.chart_code, a.unit, nullif(a.holder, ''), nullif(a.component, '')) AS label
          FROM ONLY fl.account a
          FULL JOIN (SELECT account_id, sum(dr) AS dr, sum(cr) AS cr FROM g GROUP BY account_id) t
            ON t.account_id = a.id
         WHERE a.id IS NULL OR a.debits <> coalesce(t.dr, 0) OR a.credits <> coalesce(t.cr, 0)
            OR a.balance <> coalesce(t.dr, 0) - coalesce(t.cr, 0)""",
        lambda r: (said("postings refer to this account but it does not exist") if r['missing'] else said("{label}: maintained balance {value} (debits {value2}, credits {value3}); its postings "
                       "sum to {value4} (debits {value5}, credits {value6})", label=r['label'], value=_fen(r['balance']), value2=_fen(r['debits']), value3=_fen(r['credits']), value4=_fen(r['dr'] - r['cr']), value5=_fen(r['dr']), value6=_fen(r['cr'])))),
    PostingCheck(
        "account_days", "fl.account_day equals the daily sums of postings", "account_days", """
        SELECT coalesce(d.account_id, t.account_id) AS account_id, coalesce(d.day, t.entry_date) AS day,
               coalesce(d.debits, 0) AS debits, coalesce(d.credits, 0) AS credits,
               coalesce(t.dr, 0) AS dr, coalesce(t.cr, 0) AS cr
          FROM ONLY fl.account_day d
          FULL JOIN (SELECT account_id, entry_date, sum(dr) AS dr, sum(cr) AS cr FROM g GROUP BY account_id, entry_date) t
            ON t.account_id = d.account_id AND t.entry_date = d.day
         WHERE coalesce(d.debits, 0) <> coalesce(t.dr, 0) OR coalesce(d.credits, 0) <> coalesce(t.cr, 0)""",
        lambda r: said("{day}: daily movement says debits {value}, credits {value2}; postings say {value3}, "
                       "{value4}", day=r['day'], value=_fen(r['debits']), value2=_fen(r['credits']), value3=_fen(r['dr']), value4=_fen(r['cr']))),
    PostingCheck(
        "bank_balances", "each physical bank account's balance equals the sum of its ledger accounts' postings, "
        "its reserved amount the approved, not yet disbursed fund requests of its book (the special account; "
        "0 elsewhere), and 0 <= reserved <= that balance", "bank_accounts", """
        SELECT b.id AS bank_id, b.book, b.holder, b.unit, b.balance, b.reserved, coalesce(t.s, 0) AS actual,
               CASE WHEN b.holder = 'special' AND b.unit IS NULL THEN coalesce(q.s, 0) ELSE 0 END AS approved
          FROM ONLY fl.bank_account b
          LEFT JOIN (SELECT bank_account_id, sum(dr - cr) AS s FROM ga
                      WHERE bank_account_id IS NOT NULL GROUP BY 1) t ON t.bank_account_id = b.id
          LEFT JOIN (SELECT book, sum(amount_approved) AS s FROM ONLY fl.fund_request
                      WHERE state = 'approved' GROUP BY 1) q ON q.book = b.book
         WHERE b.balance <> coalesce(t.s, 0) OR b.reserved < 0 OR b.reserved > coalesce(t.s, 0)
            OR b.reserved <> CASE WHEN b.holder = 'special' AND b.unit IS NULL THEN coalesce(q.s, 0) ELSE 0 END""",
        lambda r: (said("maintained balance {value} but postings sum to {value2}", value=_fen(r['balance']), value2=_fen(r['actual'])) if r['balance'] != r['actual'] else (said("reserved {value} is outside 0..{value2} (the balance)", value=_fen(r['reserved']), value2=_fen(r['actual'])) if r['reserved'] < 0 or r['reserved'] > r['actual'] else said("reserved {value} but the approved, not yet disbursed fund requests of book {book} sum "
                        "to {value2}", value=_fen(r['reserved']), book=r['book'], value2=_fen(r['approved']))))),
    PostingCheck(
        "no_overdraft", "no physical bank account was ever below zero (running balance after each committed "
        "transaction, in seal order; entries queued for sealing after every sealed one)", "bank_accounts", """
        SELECT neg.bank_id, neg.running, neg.entry_id, s.book, s.fiscal_year, s.voucher_no, b.holder,
               b.unit AS bank_unit FROM (
          SELECT DISTINCT ON (bank_id) bank_id, ord, entry_id, running FROM (
            SELECT bank_id, ord, entry_id, sum(delta) OVER (PARTITION BY bank_id ORDER BY ord) AS running FROM (
              SELECT ga.bank_account_id AS bank_id, ga.created_xid, min(ga.entry_id) AS entry_id,
                     min(coalesce(s.seq, (SELECT coalesce(max(x.seq), 0) FROM ONLY fl.seal x) + ga.entry_id)) AS ord,
                     sum(ga.dr - ga.cr) AS delta
                FROM ga LEFT JOIN ONLY fl.seal s ON s.entry_id = ga.entry_id
               WHERE ga.bank_account_id IS NOT NULL AND NOT ga.no_entry
               GROUP BY ga.bank_account_id, ga.created_xid) t) r
           WHERE running < 0 ORDER BY bank_id, ord) neg
          LEFT JOIN ONLY fl.seal s ON s.entry_id = neg.entry_id JOIN ONLY fl.bank_account b ON b.id = neg.bank_id""",
        lambda r: said("the {holder} account ({book}{value}) fell to {value2} with this entry's transaction", holder=r['holder'], book=r['book'], value=', unit ' + r['bank_unit'] if r['bank_unit'] else '', value2=_fen(r['running']))),
    PostingCheck(
        "day_balances", "no physical bank account, and no unit's share of a pooled account whose share may not go "
        "negative (1004 city_exp, 1005), ends any day below zero: the running balance by entry date, as every as-of "
        "report reads it (0043)", "bank_accounts", """
        SELECT x.bank_id, x.account_id, x.day, x.running, b.holder, b.book, b.unit AS bank_unit, a.unit AS aunit,
               concat_ws(':', a.book, a.chart_code, a.unit, nullif(a.holder, ''), nullif(a.component, '')) AS label
          FROM (SELECT DISTINCT ON (bank_id, account_id) bank_id, account_id, day, running
                  FROM (SELECT bank_id, account_id, day,
                               sum(delta) OVER (PARTITION BY bank_id, account_id ORDER BY day) AS running
                          FROM (SELECT ga.bank_account_id AS bank_id, NULL::int AS account_id, ga.entry_date AS day,
                                       sum(ga.dr - ga.cr) AS delta
                                  FROM ga WHERE ga.bank_account_id IS NOT NULL AND NOT ga.no_account
                                 GROUP BY ga.bank_account_id, ga.entry_date
                                UNION ALL
                                SELECT NULL::int, ga.account_id, ga.entry_date, sum(ga.dr - ga.cr)
                                  FROM ga JOIN ONLY fl.account pa ON pa.id = ga.account_id
                                 WHERE pa.holder IN ('city_exp', 'treasury')
                                 GROUP BY ga.account_id, ga.entry_date) t) r
                 WHERE running < 0 ORDER BY bank_id, account_id, day) x
          LEFT JOIN ONLY fl.bank_account b ON b.id = x.bank_id LEFT JOIN ONLY fl.account a ON a.id = x.account_id""",
        lambda r: (said("the {holder} account ({book}{value}) ended {day} at {value2} (running balance by entry "
                       "date): a payment is dated before the money it paid with reached the account", holder=r['holder'], book=r['book'], value=', unit ' + r['bank_unit'] if r['bank_unit'] else '', day=r['day'], value2=_fen(r['running'])) if r['account_id'] is None else said("unit {aunit}'s share of {label} ended {day} at {value} (running balance by entry date): "
                       "on that day the unit paid with other units' money", aunit=r['aunit'], label=r['label'], day=r['day'], value=_fen(r['running'])))),
    PostingCheck(
        "components_separate", "components never pay for each other: a unit's personal-account money in a "
        "physical account never below zero, the pooled money in a physical account never below zero in total "
        "(running balances per committed transaction, in seal order; and, 0125, at the end of every day by entry "
        "date as far as the entries written after the rule's point made it)", "bank_accounts", """
        SELECT NULL::date AS day, neg.account_id, CASE WHEN neg.account_id IS NULL THEN neg.bank_id END AS bank_id, neg.component,
               neg.running, neg.entry_id, s.book, s.fiscal_year,
               s.voucher_no, a.unit AS aunit,
               concat_ws(':', a.book, a.chart_code, a.unit, nullif(a.holder, ''), nullif(a.component, '')) AS label,
               b.holder, b.unit AS bank_unit FROM (
          SELECT DISTINCT ON (account_id, bank_id, component) account_id, bank_id, component, ord, entry_id, running
            FROM (
            SELECT account_id, bank_id, component, ord, entry_id,
                   sum(delta) OVER (PARTITION BY account_id, bank_id, component ORDER BY ord) AS running FROM (
              SELECT CASE WHEN ga.component <> bk.pooled_component THEN ga.account_id END AS account_id,
                     ga.bank_account_id AS bank_id, ga.component, ga.created_xid, min(ga.entry_id) AS entry_id,
                     min(coalesce(s.seq, (SELECT coalesce(max(x.seq), 0) FROM ONLY fl.seal x) + ga.entry_id)) AS ord,
                     sum(ga.dr - ga.cr) AS delta
                FROM ga JOIN ONLY fl.book bk ON bk.code = ga.abook LEFT JOIN ONLY fl.seal s ON s.entry_id = ga.entry_id
               WHERE ga.bank_account_id IS NOT NULL AND ga.component <> '' AND NOT ga.no_entry
               GROUP BY 1, 2, 3, 4) t) r
           WHERE running < 0 ORDER BY account_id, bank_id, component, ord) neg
          LEFT JOIN ONLY fl.seal s ON s.entry_id = neg.entry_id LEFT JOIN ONLY fl.account a ON a.id = neg.account_id
          JOIN ONLY fl.bank_account b ON b.id = neg.bank_id
        UNION ALL
        -- (0125, ATTACK15 A6) the day-end rule, per component as per account (0043): the first day
        -- whose end is below zero while the entries above the rule's point (component_days) moved
        -- it down to that day (a day left below zero by the entries before the point is not judged)
        SELECT x.day, x.account_id, CASE WHEN x.account_id IS NULL THEN x.bank_id END, x.component, x.running,
               NULL::bigint, NULL::text, NULL::int, NULL::int, a.unit,
               concat_ws(':', a.book, a.chart_code, a.unit, nullif(a.holder, ''), nullif(a.component, '')),
               b.holder, b.unit FROM (
          SELECT DISTINCT ON (account_id, bank_id, component) account_id, bank_id, component, day, running
            FROM (SELECT account_id, bank_id, component, day,
                         sum(delta) OVER w AS running, sum(made) OVER w AS made
                    FROM (SELECT CASE WHEN ga.component <> bk.pooled_component THEN ga.account_id END AS account_id,
                                 ga.bank_account_id AS bank_id, ga.component, ga.entry_date AS day,
                                 sum(ga.dr - ga.cr) AS delta,
                                 coalesce(sum(ga.dr - ga.cr) FILTER (WHERE ga.entry_id > pt.after), 0) AS made
                            FROM ga JOIN ONLY fl.book bk ON bk.code = ga.abook
                           CROSS JOIN (SELECT coalesce((SELECT r.after_entry FROM ONLY fl.rule_point r
                                                         WHERE r.rule = 'component_days'), 0) AS after) pt
                           WHERE ga.bank_account_id IS NOT NULL AND ga.component <> '' AND NOT ga.no_account
                           GROUP BY 1, 2, 3, 4) t
                  WINDOW w AS (PARTITION BY account_id, bank_id, component ORDER BY day)) r
           WHERE running < 0 AND made < 0 ORDER BY account_id, bank_id, component, day) x
          LEFT JOIN ONLY fl.account a ON a.id = x.account_id JOIN ONLY fl.bank_account b ON b.id = x.bank_id""",
        lambda r: (said("unit {aunit}'s {component} money in the {holder} account ended {day} at {value} "
                       "(running balance by entry date): a payment of it is dated before that money arrived, so "
                       "on those days another component's money paid it", aunit=r['aunit'], component=r['component'], holder=r['holder'], day=r['day'], value=_fen(r['running'])) if r['day'] and r['account_id'] is not None else (said("the {component} money in the {holder} account{value} ended {day} at {value2} in total "
                       "(running balance by entry date): a payment of it is dated before that money arrived, so "
                       "on those days other components' money paid it", component=r['component'], holder=r['holder'], value=' (unit ' + r['bank_unit'] + ')' if r['bank_unit'] else '', day=r['day'], value2=_fen(r['running'])) if r['day'] else (said("unit {aunit}'s {component} money in the {holder} account fell to {value} with this "
                       "entry's transaction: it pays only from its own {component} money, never from another "
                       "component's", aunit=r['aunit'], component=r['component'], holder=r['holder'], value=_fen(r['running'])) if r['account_id'] is not None else said("the {component} money in the {holder} account{value} fell to {value2} in total with "
                       "this entry's transaction: the {component} fund may not draw on other components' money", component=r['component'], holder=r['holder'], value=' (unit ' + r['bank_unit'] + ')' if r['bank_unit'] else '', value2=_fen(r['running'])))))),
)

NAMES = tuple(c.name for c in POSTING_CHECKS)


def fused_sql(checks: Sequence[PostingCheck], limit: int) -> str:
    """One statement: the grouped postings once, then each check's finding rows as
    (check, jsonb row), at most ``limit`` per check, and (check -1) the number of
    postings, so that nothing else has to count them."""
    parts = [f"(SELECT {i} AS k, to_jsonb(f) AS r FROM ({c.sql}) f LIMIT {limit})" for i, c in enumerate(checks)]
    parts.append("(SELECT -1 AS k, jsonb_build_object('postings', coalesce(sum(n), 0)) AS r FROM g)")
    return f"WITH {GROUPED_SQL} " + "\nUNION ALL\n".join(parts)


@dataclass(frozen=True)
class PostingPass:
    """What the pass found: finding rows by check name, and how many postings it read."""

    findings: dict[str, list[dict[str, Any]]]
    postings: int


def posting_findings(conn: Conn, checks: Sequence[PostingCheck], cap: int) -> PostingPass:
    """Finding rows of ``checks``, by check name, from one pass over the postings.

    The plan is pinned: a hash aggregate over a sequential scan of ``fl.posting`` is
    linear whatever the statistics say, where an index-ordered group aggregate (which
    the row-security estimates invite) reads the table in index order, several times
    slower."""
    out: dict[str, list[dict[str, Any]]] = {c.name: [] for c in checks}
    postings = 0
    with pinned(conn, enable_indexscan=False, enable_bitmapscan=False, enable_sort=False):
        rows = conn.execute(fused_sql(checks, cap + 1)).fetchall()
    for row in rows:
        if row["k"] < 0:
            postings = int(row["r"]["postings"])
        else:
            out[checks[row["k"]].name].append(row["r"])
    bad = [int(r["entry_id"]) for r in out.get("posting_copies", [])]
    if bad:
        out["posting_copies"] = conn.execute(_COPIES_DETAIL_SQL, {"entries": bad, "limit": cap + 1}).fetchall()
    return PostingPass(out, postings)
