"""``fundledger verify``: every invariant of the ledger, recomputed from the raw rows.

The auditor trusts neither the maintained tables (balances, daily movements, voucher
counters, the chain head) nor the hashes the database stored. Every check is set-based
SQL over ``fl.entry`` / ``fl.posting`` / ``fl.account`` / ``fl.seal`` /
``fl.request_event`` (GROUP BY and window functions, no per-entry round trips), inline
from here and never a server function the database owner could replace:

* the six checks that sum postings share one grouped pass over ``fl.posting``
  (ledger.store.verify_postings);
* the hash chain is recomputed on the server, every link beside the one before it
  (ledger.store.verify_chain); only suspect links come back to Python;
* the rest (vouchers, closed periods, reversals, requests) are the queries below.

Everything runs in one REPEATABLE READ, READ ONLY transaction: one consistent snapshot,
and nothing can be written by accident. Failures are ``Finding`` values collected per
check (ledger.core.findings), never raised. Each pass is timed (``VerifyReport.extra``
``timings``), so a slow check shows in ``verify --json``.

Plans must not depend on fresh statistics or on row security's estimates: after a bulk
load without ANALYZE, or under the auditor's row-security quals (which the planner
guesses select a few rows), a nested loop over ``fl.posting`` made verify quadratic and it
did not finish. The snapshot therefore turns nested loops off (hash and merge joins are
linear whatever the estimates); the few per-row index probes verify does want (a
reversal's postings) are LATERAL subqueries, which still run as nested loops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel, sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from ledger.core import bank_refs, entry_writers
from ledger.core.findings import FINDINGS_CAP, CheckResult, Finding, VerifyReport, result, said, voucher_label
from ledger.core.requests import TRANSITIONS
from ledger.errors import PermissionDenied
from ledger.i18n import _
from ledger.store import verify_records, verify_session
from ledger.store.db import Conn
from ledger.store.verify_chain import (
    CANONICAL_SQL,
    CHAIN_NAME,
    GENESIS,
    QUEUED_SQL,
    ChainJob,
    ChainRow,
    check_chain,
    link,
    scan_chain,
)
from ledger.store.verify_postings import POSTING_CHECKS, posting_findings

__all__ = ["CANONICAL_SQL", "GENESIS", "ChainRow", "check_chain", "check_names", "link", "scan_chain", "verify"]

T = TypeVar("T")


@dataclass(frozen=True)
class Query:
    sql: str
    message: Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    counts: str                      # key into the counts query: what "checked" counts
    queries: tuple[Query, ...]


_VOUCHER = "s.book || '/' || s.fiscal_year || '-' || lpad(s.voucher_no::text, 6, '0')"

COUNTS_SQL = """
SELECT (SELECT count(*) FROM ONLY fl.entry) AS entries,
       (SELECT count(*) FROM ONLY fl.account) AS accounts,
       (SELECT count(*) FROM ONLY fl.account_day) AS account_days,
       (SELECT count(*) FROM ONLY fl.bank_account) AS bank_accounts,
       (SELECT count(*) FROM ONLY fl.seal) AS seals,
       (SELECT count(*) FROM ONLY fl.seal_queue) AS queued,
       (SELECT count(*) FROM ONLY fl.entry WHERE reverses IS NOT NULL) AS reversals,
       (SELECT count(*) FROM ONLY fl.fund_request) AS requests,
       (SELECT count(*) FROM ONLY fl.request_event) AS request_events,
       (SELECT count(*) FROM ONLY fl.pending_entry) AS held
"""

# (ATTACK10 X7) The legs of the entries the imports write that are not what the import writes:
# one row per distinct (entry, account, side) of a payments or collections entry.
SHAPES_SQL = """
          SELECT e.id AS entry_id, e.kind, e.idempotency_key, e.created_by, a.chart_code, a.holder, g.side,
                 a.unit AS aunit, s.book, s.fiscal_year, s.voucher_no
            FROM (SELECT p.entry_id, p.account_id, p.side::text AS side FROM ONLY fl.posting p
                   WHERE p.entry_id IN (SELECT x.id FROM ONLY fl.entry x WHERE x.kind IN ('payments', 'collections'))
                   GROUP BY 1, 2, 3) g
            JOIN ONLY fl.entry e ON e.id = g.entry_id
            JOIN ONLY fl.account a ON a.id = g.account_id
            LEFT JOIN ONLY fl.app_user u
                   ON u.name = coalesce(CASE WHEN jsonb_typeof(e.source) = 'object' AND e.source ? 'held'
                                             THEN e.source->>'confirmed_by' END, e.created_by)
            LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE CASE e.kind
                   WHEN 'payments' THEN NOT coalesce(a.unit = split_part(e.idempotency_key, ':', 3) AND (
                        g.side = 'D' AND a.holder = '' AND (a.chart_code LIKE '5001.%' OR a.chart_code = '5101')
                        OR g.side = 'C' AND a.chart_code = '1004'
                           AND a.holder = CASE split_part(e.idempotency_key, ':', 6) WHEN 'county' THEN 'county_exp'
                                               WHEN 'city' THEN 'city_exp' ELSE a.holder END
                           AND (a.holder = 'county_exp'
                                OR a.holder = 'city_exp' AND u.role IS DISTINCT FROM 'officer')), false)
                   ELSE NOT (g.side = 'D' AND a.chart_code = '1003' AND a.holder = 'special'
                             OR g.side = 'C' AND a.holder = ''
                                AND (a.chart_code IN ('4001', '4501') OR a.chart_code LIKE '4101.%'))
                 END"""


# (0108) The rows a user's imports may write in one region day, by role (fl._imp_finish; the
# independent verdict's ``rules.IMPORT_CAPS``).
IMPORT_CAP_OFFICER = 100_000
IMPORT_CAP_CITY = 2_000_000
# (0122) The rows of reference data (budgets, insured headcounts, annual plans) a user may import in
# one region day, any role (fl._import_reference_rows; ``rules.IMPORT_CAP_REFERENCE``).
IMPORT_CAP_REFERENCE = 20_000


def _bound(rule: str) -> str:
    """(ATTACK10 X1) SQL: the held entry ``pe``'s journal entry is bound by ``rule`` — its id
    above the rule's point (0068), or its first history version after the point's own
    version, or no version at all (written with the history's triggers off). The id alone is
    the DBA's to choose (a restarted identity); the history's order is not."""
    return f"""(pe.entry_id > coalesce((SELECT r.after_entry FROM ONLY fl.rule_point r WHERE r.rule = '{rule}'), 0)
                     OR coalesce((SELECT min(l.id) FROM ONLY fl.record_log l WHERE l.tbl = 'fl.entry'
                                     AND l.row_key = jsonb_build_object('id', pe.entry_id)), 9223372036854775807)
                        > coalesce((SELECT min(l.id) FROM ONLY fl.record_log l WHERE l.tbl = 'fl.rule_point'
                                       AND l.row_key = jsonb_build_object('rule', '{rule}')), 0))"""


CHECKS: tuple[Check, ...] = (
    Check("vouchers", "one seal per entry, or one queue row for an entry that committed while another commit "
          "held the chain head, its digest equal to its content; seals numbered 1..n without gaps in sealing "
          "order; voucher numbers gapless 1..n per (book, year), increasing in sealing order; counters equal the "
          "last number", "entries", (
        Query(f"""
          WITH s AS (SELECT s.*, row_number() OVER (ORDER BY s.seq) AS pos,
                            row_number() OVER (PARTITION BY s.book, s.fiscal_year ORDER BY s.seq) AS vpos
                       FROM ONLY fl.seal s)
          SELECT coalesce(s.entry_id, e.id) AS entry_id, s.entry_id IS NULL AS unsealed, e.id IS NULL AS orphan,
                 q.entry_id IS NOT NULL AS queued, s.seq, s.pos, s.voucher_no, s.vpos, s.book, s.fiscal_year,
                 e.book AS ebook, extract(year FROM e.entry_date)::int AS eyear, {_VOUCHER} AS label
            FROM s FULL JOIN ONLY fl.entry e ON e.id = s.entry_id
            LEFT JOIN ONLY fl.seal_queue q ON q.entry_id = coalesce(s.entry_id, e.id)
           WHERE (s.entry_id IS NULL) = (q.entry_id IS NULL) OR e.id IS NULL OR s.seq <> s.pos
              OR s.voucher_no <> s.vpos OR s.book <> e.book OR s.fiscal_year <> extract(year FROM e.entry_date)""",
              lambda r: ((said("the entry has no seal (no voucher number, not in the hash chain) and is not queued for "
                             "one") if not r['queued'] else said("the entry is both sealed and still queued for sealing")) if r['unsealed'] != r['queued'] else (said("a seal for an entry that does not exist (the entry was deleted)") if r['orphan'] else (said("seal sequence {seq} where {pos} was expected (a seal is missing or was renumbered)", seq=r['seq'], pos=r['pos']) if r['seq'] != r['pos'] else (said("voucher {label} sits at position {vpos} of {book}/{fiscal_year} in commit order "
                             "(numbers missing, duplicated or reordered)", label=r['label'], vpos=r['vpos'], book=r['book'], fiscal_year=r['fiscal_year']) if r['voucher_no'] != r['vpos'] else said("sealed as {book}/{fiscal_year} but the entry is {ebook} dated {eyear}", book=r['book'], fiscal_year=r['fiscal_year'], ebook=r['ebook'], eyear=r['eyear'])))))),
        Query("""
          SELECT coalesce(vc.book, x.book) AS book, coalesce(vc.fiscal_year, x.fiscal_year) AS fiscal_year,
                 vc.last_no, x.n
            FROM ONLY fl.voucher_counter vc
            FULL JOIN (SELECT book, fiscal_year, max(voucher_no) AS n FROM ONLY fl.seal GROUP BY 1, 2) x
              ON x.book = vc.book AND x.fiscal_year = vc.fiscal_year
           WHERE vc.last_no IS DISTINCT FROM x.n""",
              lambda r: said("voucher counter of {book}/{fiscal_year} says {last_no}, the last sealed voucher is {n}", book=r['book'], fiscal_year=r['fiscal_year'], last_no=r['last_no'], n=r['n'])),
        Query(QUEUED_SQL,
              lambda r: (said("queued for sealing, but its entry does not exist") if not r['has_entry'] else (said("queued for sealing as {qbook}/{qyear}, but the entry is {book} dated {year}", qbook=r['qbook'], qyear=r['qyear'], book=r['book'], year=r['year']) if (r['qbook'], r['qyear']) != (r['book'], r['year']) else said("changed since it was queued for sealing: its content no longer matches the digest "
                             "computed at its commit")))),
    )),
    Check("closed_periods", "no entry was written into a month, or dated before it, after that month was closed", "entries", (
        Query("""
          SELECT e.id AS entry_id, e.entry_date, e.created_at, c.month, c.closed_at, c.closed_by,
                 s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.entry e JOIN ONLY fl.closed_period c ON c.month = date_trunc('month', e.entry_date)::date
            LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE e.created_at > c.closed_at
             -- (0128, ATTACK16b D3) a year close's own entries go into its December whoever closed it
             AND NOT (e.kind = 'year_close' AND extract(month FROM e.entry_date) = 12
                      AND extract(day FROM e.entry_date) = 31)""",
              lambda r: said("dated {entry_date} but written at {created_at:%Y-%m-%d %H:%M:%S}, after {month:%Y-%m} "
                             "was closed by {closed_by} at {closed_at:%Y-%m-%d %H:%M:%S}", entry_date=r['entry_date'], created_at=r['created_at'], month=r['month'], closed_by=r['closed_by'], closed_at=r['closed_at'])),
        # (0131, ATTACK16b D1) nor dated before a closed month and written after its close: since 0128
        # nothing is dated on or before a closed month's last day (fl.entry_inserted), save a year
        # close's own 31 December entries and a reversal dated in its original's year; an entry above
        # the rule's point (closed_prefix: what a ledger held before is judged as it was). Per month
        # under the latest closed one, the close of a later month made first; one pass of the entries.
        Query("""
          WITH cp AS (SELECT c.month, c.closed_at, c.closed_by FROM ONLY fl.closed_period c),
          m AS (SELECT g.m::date AS m FROM generate_series((SELECT min(date_trunc('month', e0.entry_date)) FROM ONLY fl.entry e0),
                                                          (SELECT max(cp.month) FROM cp) - interval '1 month',
                                                          interval '1 month') g(m)),
          t AS (SELECT m.m, f.month, f.closed_at, f.closed_by
                  FROM m CROSS JOIN LATERAL (SELECT cp.* FROM cp WHERE cp.month > m.m
                                              ORDER BY cp.closed_at, cp.month LIMIT 1) f)
          SELECT e.id AS entry_id, e.entry_date, e.created_at, t.month, t.closed_at, t.closed_by,
                 s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.entry e JOIN t ON t.m = date_trunc('month', e.entry_date)::date
            LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE e.created_at > t.closed_at
             AND e.id > coalesce((SELECT r.after_entry FROM ONLY fl.rule_point r WHERE r.rule = 'closed_prefix'), 0)
             AND NOT (e.kind = 'year_close' AND extract(month FROM e.entry_date) = 12
                      AND extract(day FROM e.entry_date) = 31)
             AND NOT (e.kind = 'reversal' AND EXISTS (SELECT 1 FROM ONLY fl.entry o WHERE o.id = e.reverses
                        AND date_trunc('year', o.entry_date) = date_trunc('year', e.entry_date)))
             -- written into its own month after that month's close: named above
             AND NOT EXISTS (SELECT 1 FROM cp WHERE cp.month = t.m AND e.created_at > cp.closed_at)""",
              lambda r: said("dated {entry_date}, before {month:%Y-%m}, but written at {created_at:%Y-%m-%d "
                             "%H:%M:%S}, after {month:%Y-%m} was closed by {closed_by} at {closed_at:%Y-%m-%d "
                             "%H:%M:%S}: nothing is dated on or before the last day of a closed month (0128)", entry_date=r['entry_date'], month=r['month'], created_at=r['created_at'], closed_by=r['closed_by'], closed_at=r['closed_at'])),
    )),
    Check("reversals", "each reversal points at one earlier entry of its book, reverses it alone and mirrors it "
          "exactly (same accounts and amounts, sides swapped)", "reversals", (
        Query("""
          SELECT e.id AS entry_id, e.reverses, o.id IS NULL AS missing, o.book AS obook, e.book AS ebook,
                 (SELECT count(*) FROM ONLY fl.entry x WHERE x.reverses = e.reverses) AS times,
                 s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.entry e LEFT JOIN ONLY fl.entry o ON o.id = e.reverses LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE e.reverses IS NOT NULL
             AND (o.id IS NULL OR o.book <> e.book OR e.reverses >= e.id
                  OR (SELECT count(*) FROM ONLY fl.entry x WHERE x.reverses = e.reverses) > 1)""",
              lambda r: (said("reverses entry {reverses}, which does not exist", reverses=r['reverses']) if r['missing'] else (said("entry {reverses} is reversed {times} times", reverses=r['reverses'], times=r['times']) if r['times'] > 1 else (said("reverses entry {reverses} of book {obook} from book {ebook}", reverses=r['reverses'], obook=r['obook'], ebook=r['ebook']) if r['obook'] != r['ebook'] else said("reverses a later entry ({reverses})", reverses=r['reverses']))))),
        Query("""
          WITH r AS (SELECT id, reverses FROM ONLY fl.entry WHERE reverses IS NOT NULL),
          o AS (SELECT r.id AS rid, p.account_id, CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END AS side, p.amount,
                       count(*) AS n
                  FROM r CROSS JOIN LATERAL (SELECT * FROM ONLY fl.posting x WHERE x.entry_id = r.reverses OFFSET 0) p
                 GROUP BY 1, 2, 3, 4),
          m AS (SELECT r.id AS rid, p.account_id, p.side::text AS side, p.amount, count(*) AS n
                  FROM r CROSS JOIN LATERAL (SELECT * FROM ONLY fl.posting x WHERE x.entry_id = r.id OFFSET 0) p
                 GROUP BY 1, 2, 3, 4),
          bad AS (SELECT DISTINCT coalesce(o.rid, m.rid) AS rid
                    FROM o FULL JOIN m ON m.rid = o.rid AND m.account_id = o.account_id AND m.side = o.side
                                      AND m.amount = o.amount
                   WHERE o.n IS DISTINCT FROM m.n)
          SELECT e.id AS entry_id, e.reverses, s.book, s.fiscal_year, s.voucher_no
            FROM bad JOIN ONLY fl.entry e ON e.id = bad.rid LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id""",
              lambda r: said("does not exactly mirror entry {reverses}, which it claims to reverse", reverses=r['reverses'])),
    )),
    Check("held_entries", "maker-checker (sql/0017): every confirmed held entry is in the journal with its key, "
          "kind and content, confirmed by someone other than its maker; every entry confirmed from a held one has "
          "that record; no manual entry or reversal filed under a writer's name moved real money without one; "
          "an officer's held entry on the city's figures (1003 special, 1004 city_exp, 1005, 3xxx, 4xxx, 5xxx: 0067; a "
          "county's legacy accounts: 0140) or "
          "putting money into any bank or cash account (a debit on 1001-1005 or an account with a holder) was confirmed by a "
          "reviewer or finance user (0058, 0064) — each rule for the entries written after it took effect (0068, by "
          "the history's order: ATTACK10 X1); every payments and collections entry is what its import writes, a "
          "payments entry with its register lines and batch (ATTACK10 X7); no user's imports in one region day wrote more "
          "rows than its role's cap (0108: 100,000 an officer, 2,000,000 the city), nor of reference data (budgets, headcounts, "
          "plans) more than 20,000 (0122)",
          "held", (
        Query("""
          SELECT pe.id, pe.made_by, pe.decided_by, pe.kind, e.id AS entry_id, s.book, s.fiscal_year, s.voucher_no,
                 e.id IS NULL AS missing
            FROM ONLY fl.pending_entry pe LEFT JOIN ONLY fl.entry e ON e.id = pe.entry_id LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE pe.state = 'confirmed'
             AND (e.id IS NULL OR e.idempotency_key <> pe.idempotency_key OR e.kind <> pe.kind
                  OR e.content_hash <> pe.content_hash OR pe.decided_by = pe.made_by)""",
              lambda r: said("held entry {id} ({kind} by {made_by}) was confirmed by {decided_by} {more}", id=r['id'], kind=r['kind'], made_by=r['made_by'], decided_by=r['decided_by'], more=(said("but its entry is missing") if r['missing'] else (said("who made it") if r['made_by'] == r['decided_by'] else said("but the journal's entry differs from what was held"))))),
        Query("""
          SELECT e.id AS entry_id, e.kind, e.idempotency_key, e.created_by, s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.entry e LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE (e.idempotency_key LIKE 'manual:%' OR e.idempotency_key LIKE 'reversal:%'
                  OR e.idempotency_key LIKE 'opening-city:%' OR jsonb_typeof(e.source) = 'object' AND e.source ? 'held')
             AND NOT EXISTS (SELECT 1 FROM ONLY fl.pending_entry pe WHERE pe.entry_id = e.id AND pe.state = 'confirmed')
             AND (e.source ? 'held' OR e.kind = 'opening' OR EXISTS (
                   SELECT 1 FROM ONLY fl.posting p JOIN ONLY fl.account a ON a.id = p.account_id
                    WHERE p.entry_id = e.id
                      AND (split_part(a.chart_code, '.', 1) IN ('1001', '1002', '1003', '1004', '1005')
                           OR a.holder <> '')))""",
              lambda r: said("{kind} entry {idempotency_key} by {created_by} moved real money without a second "
                             "person's confirmation (no confirmed held entry)", kind=r['kind'], idempotency_key=r['idempotency_key'], created_by=r['created_by'])),
        # (0058, ATTACK7 U5) An officer's held entry on the city's figures — its bank accounts
        # (holders special, city_exp, treasury: 1003/1004/1005, either side), fund balance 3xxx,
        # revenue 4xxx and (0067, ATTACK9 W2) expenditure 5xxx — is confirmed by the city bureau
        # or city finance, never by an officer.
        # The rule written out here, not through fl._city_figure: the database's own function
        # is what this pass checks.
        Query("""
          SELECT pe.id, pe.kind, pe.made_by, pe.decided_by, coalesce(du.role, 'no user') AS decider_role,
                 pe.entry_id, s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.pending_entry pe
            LEFT JOIN ONLY fl.app_user du ON du.name = pe.decided_by
            LEFT JOIN ONLY fl.seal s ON s.entry_id = pe.entry_id
           WHERE pe.state = 'confirmed' AND pe.maker_role = 'officer'
             AND coalesce(du.role, '') NOT IN ('reviewer', 'finance')
             AND EXISTS (SELECT 1 FROM ONLY fl.pending_posting pp JOIN ONLY fl.account a ON a.id = pp.account_id
                          WHERE pp.pending_id = pe.id
                            -- (0068, ATTACK9 W6) each rule judges the entries written after it
                            -- took effect (fl.rule_point; a rule with no point: every entry) —
                            -- (ATTACK10 X1) by the history's order, not by the id alone
                            AND ((a.holder IN ('special', 'city_exp', 'treasury')
                                  OR left(a.chart_code, 1) IN ('3', '4'))
                                 AND """ + _bound("city_figures") + """
                                 -- 5xxx: 0067 (ATTACK9 W2), its own point (recorded by 0072)
                                 OR left(a.chart_code, 1) = '5' AND """ + _bound("city_expenditure") + """
                                 -- (0140, ATTACK17 E5) a county's legacy accounts (money
                                 -- awaiting the transfer up), either side: its own point
                                 OR a.holder IN ('legacy_special', 'legacy_revenue', 'legacy_expenditure')
                                    AND """ + _bound("legacy_figures") + """
                                 -- (0064, ATTACK8 V5) money into any bank or cash account
                                 OR pp.side = 'D' AND (split_part(a.chart_code, '.', 1)
                                                         IN ('1001', '1002', '1003', '1004', '1005')
                                                       OR a.holder <> '')
                                    AND """ + _bound("money_in") + """))""",
              lambda r: said("held entry {id} ({kind} by officer {made_by}) is on the city's bank accounts, a "
                             "county's legacy accounts, fund balance, revenue or expenditure, or puts money into a "
                             "bank or cash account, and was confirmed by {decided_by} ({decider_role}), not by the "
                             "city bureau or city finance", id=r['id'], kind=r['kind'], made_by=r['made_by'], decided_by=r['decided_by'], decider_role=r['decider_role'])),
        # (ATTACK10 X1) The ids the rule points are compared with are the identity's, from 1
        # up: an id at or below 0, or one at or below a point given to an entry the history
        # recorded after that point, was chosen (the sequence restarted, or written by hand).
        Query("""
          SELECT e.id AS entry_id, e.kind, e.idempotency_key, NULL::text AS rule, NULL::bigint AS after_entry,
                 s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.entry e LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE e.id <= 0
          UNION ALL
          SELECT e.id, e.kind, e.idempotency_key, r.rule, r.after_entry, s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.rule_point r
            JOIN LATERAL (SELECT min(l.id) AS id FROM ONLY fl.record_log l
                           WHERE l.tbl = 'fl.rule_point' AND l.row_key = jsonb_build_object('rule', r.rule)) pl ON true
            JOIN ONLY fl.record_log el ON el.id > pl.id AND el.tbl = 'fl.entry' AND el.op = 'INSERT'
            JOIN ONLY fl.entry e ON e.id = (el.row_key->>'id')::bigint
            LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE r.after_entry > 0 AND e.id > 0 AND e.id <= r.after_entry""",
              lambda r: said("{kind} entry {idempotency_key} has id {entry_id}: {more}", kind=r['kind'], idempotency_key=r['idempotency_key'], entry_id=r['entry_id'], more=(said("the journal's ids count from 1 — an id at or below 0 was chosen (the identity restarted "
     "or the row written by hand)") if r['rule'] is None else said("the history recorded it after rule {rule} took effect (every entry above "
     "{after_entry}), so its id was chosen (the identity restarted or the row written by hand)", rule=r['rule'], after_entry=r['after_entry'])))),
        # (ATTACK10 X7) An entry of a kind an import writes is what that import writes — its
        # legs by side and account for its key's unit (payments: Dr 5001.<category>/5101, Cr 1004
        # county_exp, or city_exp outside an officer's session; collections: Dr 1003 special, Cr
        # revenue) — read per distinct (entry, account, side), not per posting again.
        Query(SHAPES_SQL,
              lambda r: said("{kind} entry {idempotency_key} by {created_by} {value} {chart_code}{more} of unit "
                             "{aunit}: not what its {more2}", kind=r['kind'], idempotency_key=r['idempotency_key'], created_by=r['created_by'], value='debits' if r['side'] == 'D' else 'credits', chart_code=r['chart_code'], more=f" {r['holder']}" if r['holder'] else '', aunit=r['aunit'], more2=(said("payments import writes (Dr 5001.<category> or 5101, Cr 1004 county_exp — city_exp only "
     "in the city bureau's session — for the key's unit)") if r['kind'] == 'payments' else said("collections import writes (Dr 1003 special, Cr 4001, 4101.<level> or 4501)")))),
        Query("""
          SELECT e.id AS entry_id, e.idempotency_key, e.created_by, e.source->>'import_batch' AS batch,
                 b.kind AS bkind, b.imported_by, s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.entry e
            LEFT JOIN ONLY fl.import_batch b ON b.id::text = e.source->>'import_batch'
            LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE e.kind = 'payments' AND jsonb_typeof(e.source) = 'object'
             AND (b.id IS NULL OR b.kind <> 'payments' OR b.imported_by <> e.created_by
                  OR NOT e.source ? 'held' AND NOT EXISTS (SELECT 1 FROM ONLY fl.import_line l WHERE l.entry_id = e.id))
          UNION ALL
          SELECT e.id, e.idempotency_key, e.created_by, NULL, NULL, NULL, s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.entry e LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE e.kind = 'payments' AND jsonb_typeof(e.source) IS DISTINCT FROM 'object'""",
              lambda r: said("payments entry {idempotency_key} by {created_by} {more}: a payments entry is its "
                             "maker's payments import, its claims filed in the register", idempotency_key=r['idempotency_key'], created_by=r['created_by'], more=(said("names no import batch") if r['batch'] is None else (said("names import batch {batch}, which does not exist", batch=r['batch']) if r['bkind'] is None else (said("names import batch {batch} ({bkind} by {imported_by})", batch=r['batch'], bkind=r['bkind'], imported_by=r['imported_by']) if r['bkind'] != 'payments' or r['imported_by'] != r['created_by'] else said("is named by no line of the import register")))))),
        # (0108, Z7's class) The rows a user's imports wrote in one region day (payments,
        # collections and openings together: rows_posted of its batches) are at most its role's
        # cap — 100000 for an officer, 2000000 for the city bureau and finance — counted from the
        # batches the history recorded after the rule's point (as the counter counts them).
        Query("""
          SELECT d.imported_by, d.day, d.n, d.batches, coalesce(u.role, 'no user') AS role,
                 CASE WHEN coalesce(u.role, 'officer') = 'officer' THEN """ + str(IMPORT_CAP_OFFICER) + """
                      ELSE """ + str(IMPORT_CAP_CITY) + """ END AS cap
            FROM (SELECT b.imported_by,
                         (b.imported_at AT TIME ZONE coalesce((SELECT s.value ->> 'time_zone' FROM ONLY fl.setting s
                                                                WHERE s.key = 'region'), 'Asia/Shanghai'))::date AS day,
                         sum(b.rows_posted) AS n, count(*) AS batches
                    FROM ONLY fl.import_batch b
                   WHERE b.kind IN ('payments', 'collections', 'opening')
                     AND coalesce((SELECT min(l.id) FROM ONLY fl.record_log l WHERE l.tbl = 'fl.import_batch'
                                      AND l.row_key = jsonb_build_object('id', b.id)), 9223372036854775807)
                         > coalesce((SELECT min(l.id) FROM ONLY fl.record_log l WHERE l.tbl = 'fl.rule_point'
                                        AND l.row_key = jsonb_build_object('rule', 'import_daily_cap')), 0)
                   GROUP BY 1, 2) d
            LEFT JOIN ONLY fl.app_user u ON u.name = d.imported_by
           WHERE d.n > CASE WHEN coalesce(u.role, 'officer') = 'officer' THEN """ + str(IMPORT_CAP_OFFICER) + """
                            ELSE """ + str(IMPORT_CAP_CITY) + """ END""",
              lambda r: said("{imported_by} ({role}) imported {n:,} rows on {day} (the region's day, {batches} "
                             "file(s): payments, collections and openings), more than the {cap:,} a day its role may "
                             "import: the daily cap on imports was not applied (import_daily_cap)", imported_by=r['imported_by'], role=r['role'], n=r['n'], day=r['day'], batches=r['batches'], cap=r['cap'])),
        # (0122, ATTACK15b B7) The rows a user's imports of reference data wrote in one region day —
        # budget and headcount batches (rows_posted) and annual plans (each version's lines) — are
        # at most 20000, counted from the rows the history recorded after the rule's point.
        Query("""
          WITH tz AS (SELECT coalesce((SELECT s.value ->> 'time_zone' FROM ONLY fl.setting s WHERE s.key = 'region'),
                                      'Asia/Shanghai') AS zone),
          pt AS (SELECT coalesce((SELECT min(l.id) FROM ONLY fl.record_log l WHERE l.tbl = 'fl.rule_point'
                                     AND l.row_key = jsonb_build_object('rule', 'import_daily_cap_reference')), 0) AS at),
          written AS (
            SELECT b.imported_by AS who, b.imported_at AS at, b.rows_posted::bigint AS n, 'fl.import_batch' AS tbl,
                   b.id
              FROM ONLY fl.import_batch b WHERE b.kind IN ('budget', 'insured') AND b.rows_posted > 0
            UNION ALL
            SELECT p.imported_by, p.imported_at, (SELECT count(*) FROM ONLY fl.budget_plan_line x WHERE x.plan_id = p.id),
                   'fl.budget_plan', p.id
              FROM ONLY fl.budget_plan p)
          SELECT w.who AS imported_by, (w.at AT TIME ZONE tz.zone)::date AS day, sum(w.n) AS n, count(*) AS files,
                 coalesce(min(u.role), 'no user') AS role
            FROM written w CROSS JOIN tz CROSS JOIN pt
            LEFT JOIN ONLY fl.app_user u ON u.name = w.who
           WHERE coalesce((SELECT min(l.id) FROM ONLY fl.record_log l WHERE l.tbl = w.tbl
                              AND l.row_key = jsonb_build_object('id', w.id)), 9223372036854775807) > pt.at
           GROUP BY 1, 2
          HAVING sum(w.n) > """ + str(IMPORT_CAP_REFERENCE),
              lambda r: said("{imported_by} ({role}) imported {n:,} rows of reference data on {day} (the region's "
                             "day, {files} file(s): budgets, insured headcounts and annual plans), more than the "
                             "{IMPORT_CAP_REFERENCE:,} a day a user may import: the daily cap on imports was not "
                             "applied (import_daily_cap)", imported_by=r['imported_by'], role=r['role'], n=r['n'], day=r['day'], files=r['files'], IMPORT_CAP_REFERENCE=IMPORT_CAP_REFERENCE)),
    )),
    # (ATTACK10 X10) Who wrote each entry: its maker (created_by) and the login of its history
    # INSERT version are registered users, and the maker's role is one its kind's function
    # requires (ledger.core.entry_writers.KIND_ROLES, written out here: the database's own
    # functions are what this pass checks). Entries recorded before the history (BACKFILL)
    # are not judged.
    Check("entry_writers", entry_writers.DESCRIPTION, "entries", (
        Query("""
          WITH kr(kind, roles) AS (SELECT * FROM unnest(%(kr_kind)s::text[], %(kr_roles)s::text[]))
          SELECT e.id AS entry_id, e.kind, e.idempotency_key, e.created_by, u.role, kr.roles,
                 s.book, s.fiscal_year, s.voucher_no
            FROM ONLY fl.entry e LEFT JOIN ONLY fl.app_user u ON u.name = e.created_by
            LEFT JOIN kr ON kr.kind = e.kind LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE (u.name IS NULL OR NOT u.role = ANY (string_to_array(kr.roles, ',')))
             -- a scalar subquery (probed for these few rows by the (tbl, row_key) index), not a
             -- semi-join over the whole history
             AND coalesce((SELECT true FROM ONLY fl.record_log l WHERE l.tbl = 'fl.entry' AND l.op = 'INSERT'
                             AND l.row_key = jsonb_build_object('id', e.id) LIMIT 1), false)""",
              lambda r: said("{kind} entry {idempotency_key} was made by {created_by}, {more}", kind=r['kind'], idempotency_key=r['idempotency_key'], created_by=r['created_by'], more=(said("who is not a fundledger user: no fundledger command wrote it (the database "
     "administrator's own login calling the ledger's internal writer)") if r['role'] is None else said("role {role}, but {kind} entries are written by the {value} role", role=r['role'], kind=r['kind'], value=' or '.join((r['roles'] or '').split(',')))))),
        Query("""
          SELECT e.id AS entry_id, e.kind, e.idempotency_key, l.actor, l.id AS version, s.book, s.fiscal_year,
                 s.voucher_no
            FROM ONLY fl.record_log l JOIN ONLY fl.entry e ON e.id = (l.row_key->>'id')::bigint
            LEFT JOIN ONLY fl.seal s ON s.entry_id = e.id
           WHERE l.tbl = 'fl.entry' AND l.op = 'INSERT'
             AND NOT EXISTS (SELECT 1 FROM ONLY fl.app_user u WHERE u.name = l.actor)""",
              lambda r: said("{kind} entry {idempotency_key} was inserted by {actor} (history version {version}), who "
                             "is not a fundledger user: no fundledger command wrote it", kind=r['kind'], idempotency_key=r['idempotency_key'], actor=r['actor'], version=r['version'])),
    )),
    # (ATTACK9 W1) 0063 checks bank_account_id by a statement trigger, not a foreign key: a
    # trigger off for one statement validates nothing afterwards. The rows are asked here (and
    # in Python by the independent verdict's bank_refs).
    Check("bank_refs", bank_refs.DESCRIPTION, "accounts", (
        Query("""
          SELECT x.what, x.id, x.bank, x.other,
                 EXISTS (SELECT 1 FROM ONLY fl.bank_account b WHERE b.id = x.bank) AS known FROM (
            SELECT 'statement' AS what, t.id, t.bank_account_id AS bank, t.bank_account_id AS other
              FROM ONLY fl.bank_statement t
             WHERE NOT EXISTS (SELECT 1 FROM ONLY fl.bank_account b WHERE b.id = t.bank_account_id)
            UNION ALL
            SELECT 'line', t.id, t.bank_account_id, st.bank_account_id
              FROM ONLY fl.statement_line t LEFT JOIN ONLY fl.bank_statement st ON st.id = t.statement_id
             WHERE NOT EXISTS (SELECT 1 FROM ONLY fl.bank_account b WHERE b.id = t.bank_account_id)
                OR st.bank_account_id IS DISTINCT FROM t.bank_account_id
            UNION ALL
            SELECT 'match', t.id, t.bank_account_id, l.bank_account_id
              FROM ONLY fl.recon_match t LEFT JOIN ONLY fl.statement_line l ON l.id = t.statement_line_id
             WHERE NOT EXISTS (SELECT 1 FROM ONLY fl.bank_account b WHERE b.id = t.bank_account_id)
                OR t.statement_line_id IS NOT NULL AND l.bank_account_id IS DISTINCT FROM t.bank_account_id) x""",
              lambda r: {"statement": "bank statement", "line": "statement line", "match": "reconciliation match"}[
                            r["what"]] + f" {r['id']} is on bank account {r['bank']}, "
                        + ("which does not exist" if not r["known"] else
                           f"but its {'statement' if r['what'] == 'line' else 'statement line'} "
                           + (f"is on bank account {r['other']}" if r["other"] is not None else "does not exist"))),
        Query("""
          SELECT a.id AS account_id, a.bank_account_id AS bank, b.id IS NULL AS missing,
                 concat_ws(':', a.book, a.chart_code, a.unit, nullif(a.holder, ''), nullif(a.component, '')) AS label,
                 b.book AS bbook, b.holder AS bholder, b.unit AS bunit
            FROM ONLY fl.account a
            LEFT JOIN ONLY fl.bank_account b ON b.id = a.bank_account_id
            LEFT JOIN ONLY fl.holder h ON h.code = a.holder
           WHERE (a.bank_account_id IS NULL) <> (a.holder = '')
              OR a.bank_account_id IS NOT NULL AND (b.id IS NULL OR b.book <> a.book OR b.holder <> a.holder
                   OR b.unit IS DISTINCT FROM CASE WHEN h.pooled THEN NULL ELSE a.unit END)""",
              lambda r: f"account {r['label']} " + (
                  "has a holder but no bank account" if r["bank"] is None else
                  f"is on bank account {r['bank']}, which does not exist: its money is on no physical bank account"
                  if r["missing"] else
                  f"is on bank account {r['bank']} ({r['bbook']} {r['bholder']}"
                  + (f":{r['bunit']}" if r["bunit"] else "") + "), not the bank account of its book, holder and "
                  "unit")),
    )),
    Check("requests", "every fund request's history follows the request workflow (ledger.core.requests), ends in "
          "its current state, and its approver is not its submitter", "requests", (
        Query("""
          WITH t AS (SELECT * FROM unnest(%(t_from)s::text[], %(t_action)s::text[], %(t_to)s::text[])
                       AS t(from_state, action, to_state)),
          ev AS (SELECT re.id, re.request_id, re.action, re.from_state, re.to_state, re.actor,
                        lag(re.to_state) OVER w AS prev_to
                   FROM ONLY fl.request_event re WINDOW w AS (PARTITION BY re.request_id ORDER BY re.at, re.id))
          SELECT ev.* FROM ev
            LEFT JOIN t ON t.from_state IS NOT DISTINCT FROM ev.from_state AND t.action = ev.action
                       AND t.to_state = ev.to_state
           WHERE t.action IS NULL OR ev.from_state IS DISTINCT FROM ev.prev_to""",
              lambda r: said("event {id} ({action} by {actor}): {more}", id=r['id'], action=r['action'], actor=r['actor'], more=(said("{value} → {to_state} by '{action}' is not a legal move", value=r['from_state'] or 'nothing', to_state=r['to_state'], action=r['action']) if r['from_state'] == r['prev_to'] else said("starts from {value} but the request was {value2}", value=r['from_state'] or 'nothing', value2=r['prev_to'] or 'not yet submitted')))),
        Query("""
          WITH last AS (SELECT DISTINCT ON (request_id) request_id, to_state FROM ONLY fl.request_event
                         ORDER BY request_id, at DESC, id DESC),
          sub AS (SELECT DISTINCT ON (request_id) request_id, actor FROM ONLY fl.request_event WHERE action = 'submit'
                   ORDER BY request_id, at, id),
          appr AS (SELECT request_id, string_agg(DISTINCT actor, ',') AS actors FROM ONLY fl.request_event
                    WHERE action = 'approve' GROUP BY request_id)
          SELECT r.id AS request_id, r.state, last.to_state AS last_state, r.submitted_by, r.approved_by,
                 sub.actor AS sub_actor, appr.actors AS approvers
            FROM ONLY fl.fund_request r LEFT JOIN last ON last.request_id = r.id
            LEFT JOIN sub ON sub.request_id = r.id LEFT JOIN appr ON appr.request_id = r.id
           WHERE last.to_state IS DISTINCT FROM r.state
              OR r.approved_by = r.submitted_by
              OR r.submitted_by = ANY (string_to_array(appr.actors, ','))
              OR sub.actor = ANY (string_to_array(appr.actors, ','))
              OR sub.actor IS DISTINCT FROM r.submitted_by""",
              lambda r: "; ".join(_request_problems(r))),
    )),
)


def _request_problems(r: dict[str, Any]) -> list[str]:
    out = []
    if r["state"] != r["last_state"]:
        out.append(f"is {r['state']} but its history ends in {r['last_state'] or 'nothing'}")
    approvers = set((r["approvers"] or "").split(",")) - {""} | ({r["approved_by"]} if r["approved_by"] else set())
    submitters = {x for x in (r["submitted_by"], r["sub_actor"]) if x}
    if approvers & submitters:
        out.append(f"submitted by {', '.join(sorted(submitters))} and approved by {', '.join(sorted(approvers))}: "
                   "the approver must not be the submitter")
    if r["sub_actor"] != r["submitted_by"]:
        out.append(f"the request says it was submitted by {r['submitted_by']}, its history by {r['sub_actor']}")
    return out


def _kind_roles() -> dict[str, list[str]]:
    """entry_writers.KIND_ROLES as two parallel arrays (kind, roles joined by commas)."""
    kinds = sorted(entry_writers.KIND_ROLES)
    return {"kr_kind": kinds, "kr_roles": [",".join(sorted(entry_writers.KIND_ROLES[k])) for k in kinds]}


def _transition_arrays() -> dict[str, list[str | None]]:
    rows: list[tuple[str | None, str, str]] = [(None, "submit", "submitted")]
    rows += [(str(s), str(a), str(t)) for (s, a), t in TRANSITIONS.items()]
    return {"t_from": [r[0] for r in rows], "t_action": [r[1] for r in rows], "t_to": [r[2] for r in rows]}


def _finding(check: str, row: dict[str, Any], message: str) -> Finding:
    account = row.get("label") if "account_id" in row and row.get("label") else None
    if account is None and row.get("account_id") is not None:
        account = f"#{row['account_id']}"
    if row.get("bank_id") is not None:
        account = f"bank #{row['bank_id']} {row.get('holder') or ''}".strip()
        if row.get("bank_unit") or row.get("unit"):
            account += f":{row.get('bank_unit') or row.get('unit')}"
    return Finding(check, message, entry_id=row.get("entry_id"),
                   voucher=voucher_label(row.get("book"), row.get("fiscal_year"), row.get("voucher_no")),
                   request_id=row.get("request_id"), account=account)


def run_check(conn: Conn, check: Check, checked: int, cap: int = FINDINGS_CAP) -> CheckResult:
    findings: list[Finding] = []
    params: dict[str, Any] = {**_transition_arrays(), **_kind_roles()}
    for q in check.queries:
        sql = f"SELECT * FROM ({q.sql}) f LIMIT {cap + 1}"
        rows = conn.execute(sql, params if "%(" in q.sql else None).fetchall()
        findings += [_finding(check.name, r, q.message(r)) for r in rows]
    return result(check.name, check.description, checked, findings, cap)

# ---- running it all --------------------------------------------------------------------

# Output order of the checks (and what --check accepts).
ORDER: tuple[str, ...] = ("entry_balanced", "posting_copies", "vouchers", "account_balances", "account_days",
                          "bank_balances", "no_overdraft", "day_balances", "components_separate", "closed_periods", "reversals",
                          "held_entries", "entry_writers", "bank_refs", "requests", *verify_records.NAMES, CHAIN_NAME)


def snapshot(conn: Conn, *, same_as: str | None = None) -> None:
    """Begin one REPEATABLE READ, READ ONLY transaction (the caller ends it), with plans
    that stay linear whatever the statistics (see the module docstring). ``same_as``: a
    snapshot another session exported, so that both read exactly the same rows."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    if same_as is not None:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(same_as)))
    # Every setting a reading depends on, pinned whatever the role or the database set
    # (ledger.store.verify_session): built-ins and operators resolve in pg_catalog only,
    # values print as they were hashed, no timeout cuts the pass short. JIT is off: before
    # PostgreSQL 18 a disabled plan node adds 1e10 to the plan's cost, which put every
    # verify statement far above the JIT thresholds (~3 s per statement on 15).
    verify_session.pin(conn, snapshot_imported=same_as is not None)
    conn.execute("SET LOCAL enable_nestloop = off")


def require_reader(conn: Conn) -> None:
    """Verify reads every unit's rows: an officer (row security) would see a partial ledger."""
    r = conn.execute("""SELECT u.role FROM ONLY fl.app_user u WHERE u.name = session_user""").fetchone()
    if r is not None and r["role"] in ("officer", "admin"):
        raise PermissionDenied(_("verify reads every unit's books, which the {role} role cannot see: "
                                 "run it as an auditor (or a reviewer or finance user)").format(role=r["role"]))


class Timer:
    """Seconds per pass, in the order run: ``[{"step", "checks", "seconds"}]``."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def run(self, step: str, checks: Sequence[str], work: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        out = work()
        self.steps.append({"step": step, "checks": list(checks), "seconds": round(time.perf_counter() - t0, 3)})
        return out


def _count_postings(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM ONLY fl.posting").fetchone()
    return int(row["n"]) if row else 0


def run_checks(conn: Conn, counts: dict[str, Any], *, only: Sequence[str] | None = None, cap: int = FINDINGS_CAP,
               timer: Timer | None = None) -> list[CheckResult]:
    """Every check but the hash chain (or those named in ``only``), in the snapshot the
    caller opened: the posting checks in one pass, the others one by one. Sets
    ``counts["postings"]`` (the posting pass counts them; a separate count would be one
    more scan of the largest table)."""
    timer = timer or Timer()
    wanted = [c for c in POSTING_CHECKS if not only or c.name in only]
    if wanted:
        found = timer.run("postings", [c.name for c in wanted], lambda: posting_findings(conn, wanted, cap))
        counts["postings"], rows = found.postings, found.findings
    else:
        counts["postings"], rows = _count_postings(conn), {}
    results = {c.name: result(c.name, c.description, int(counts[c.counts]),
                              [_finding(c.name, r, c.message(r)) for r in rows[c.name]], cap) for c in wanted}
    for c in CHECKS:
        if not only or c.name in only:
            results[c.name] = timer.run(c.name, [c.name], partial(run_check, conn, c, int(counts[c.counts]), cap))
    if not only or set(only) & set(verify_records.NAMES):
        for r in timer.run("records", list(verify_records.NAMES), lambda: verify_records.first_pass(conn, cap)):
            if not only or r.name in only:
                results[r.name] = r
    return [results[n] for n in ORDER if n in results]


# A verifier shares its work with a second session of the same snapshot (the first pass's
# chain, the independent verdict's ranges of postings) from this many entries on. Below it
# the second backend — its start, its cold catalogue caches, its pin — costs more than the
# part of the work it takes off this one: on the eight-entry sample ledger a full `verify`
# (both passes, four sessions) cost about 0.1 CPU-s more than on one session, and neither
# pass reads anything its second session would not read on the first. Read when a verifier
# starts, so a test may lower it to run the two-session paths on a small ledger.
SECOND_SESSION_FROM = 2_000


def second_session_pays(entries: int) -> bool:
    """Is a ledger of ``entries`` entries worth a second session (``SECOND_SESSION_FROM``)?"""
    return entries >= SECOND_SESSION_FROM


def _second_session(conn: Conn) -> Conn | None:
    """Another session as the same login (same connection parameters), or None if the
    server will not take one more."""
    params = {o.keyword.decode(): o.val.decode() for o in conn.pgconn.info if o.val is not None}
    try:
        return psycopg.connect(make_conninfo(**params), row_factory=dict_row)
    except psycopg.Error:
        return None


def verify(conn: Conn, *, only: Sequence[str] | None = None, cap: int = FINDINGS_CAP) -> VerifyReport:
    """Run every check (or those named in ``only``) on one snapshot; never writes.

    The hash chain and the posting pass each read all of ``fl.posting`` and neither
    needs the other, so a second session on the same exported snapshot (as
    ``pg_dump --jobs`` does) starts on the chain's entry ranges while this one runs the
    other checks, then this one takes the ranges still left: two backends, two cores.
    ``sessions`` in the report says whether that happened: only from
    ``SECOND_SESSION_FROM`` entries on. The chain's step in ``timings`` is its wall time
    from start to its last range, overlapping the others."""
    saved = conn.isolation_level, conn.read_only
    timer = Timer()
    t0 = time.perf_counter()
    want_chain = not only or CHAIN_NAME in only
    peer: Conn | None = None
    try:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()      # a caller's failed or open transaction is not the verifier's
        require_reader(conn)     # before any lock: an officer hears why, not "permission denied"
        snapshot(conn)
        require_reader(conn)
        head = conn.execute("SELECT seq, hash FROM ONLY fl.chain_head").fetchone()
        counts = timer.run("counts", [], lambda: conn.execute(COUNTS_SQL).fetchone())
        assert counts is not None
        if want_chain and (not only or set(only) - {CHAIN_NAME}) and second_session_pays(int(counts["entries"])):
            peer = _second_session(conn)     # it imports this snapshot below: it takes no locks of its own
        job = ChainJob(conn, head, int(counts["seals"]), cap) if want_chain else None
        t_chain = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1) as pool:
            helper: Future[None] | None = None
            if job is not None and peer is not None:
                row = conn.execute("SELECT pg_export_snapshot() AS id").fetchone()
                assert row is not None
                snapshot(peer, same_as=row["id"])
                helper = pool.submit(job.work, peer)
            results = run_checks(conn, counts, only=only, cap=cap, timer=timer)
            if job is not None:
                job.work(conn)           # this session joins in on the ranges still left
                if helper is not None:
                    helper.result()
                results.append(job.result(conn))
                timer.steps.append({"step": CHAIN_NAME, "checks": [CHAIN_NAME],
                                    "seconds": round(time.perf_counter() - t_chain, 3)})
        extra = {"entries": int(counts["entries"]), "postings": int(counts["postings"]),
                 "queued": int(counts["queued"]),
                 "seconds": round(time.perf_counter() - t0, 3), "sessions": 2 if peer is not None else 1,
                 "timings": timer.steps}
    finally:
        conn.rollback()
        conn.isolation_level, conn.read_only = saved
        if peer is not None:
            peer.close()
    return VerifyReport(tuple(results), extra)


def check_names() -> list[str]:
    return list(ORDER)
