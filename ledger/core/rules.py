"""The API's rules re-derived from the rows, in Python (ATTACK7 U1a, U3).

A rule that lives only in the body of a SQL function or trigger can be switched off by a
superuser for one call and put back byte for byte (``CREATE OR REPLACE``, the call,
``CREATE OR REPLACE`` again): the catalogue's content fingerprint sees nothing afterwards,
and the rows the call wrote look like any others. What protects the auditor then is a
check that asks the rows themselves whether the rule held. This module holds those
checks; ``ledger.core.api_rules`` lists every rule the API enforces with the check that
re-derives it, and a test fails when one has none.

Inputs are the verdict's own raw rows, as PostgreSQL prints them (online through the
pinned COPY reading of ledger.store.verify_rules, offline from an export's
tables/*.csv): the entries and accounts as ``proof`` reads them (``Rules.accounts`` and
``Rules.entries`` see each row as it streams past the proof), the small tables of
``TABLES``, and the postings of the few entries whose rule depends on their accounts
(``Rules.wanted``: manual entries and reversals, openings, and entries dated after
their writing day). No value a server function computed is used: every comparison,
namespace, date and role is judged here.

The checks (each a ``CheckResult`` of the independent verdict):

* ``maker_checker`` — every entry the API holds for a second person (a manual entry or a
  reversal that moves real money or touches 3xxx-5xxx, 1201/2101; a reversal of a
  workflow entry; every interest allocation, opening, pre-allocation, remittance and
  clearing of unpaid claims) came from a confirmed held entry with the same key and kind,
  made by its writer and confirmed by another registered user whose role may confirm it
  (a pre-allocation: finance; a reversal, interest, opening, remittance, clearing: the
  bureau or finance; an officer: only another officer's held entry of its own unit, and
  never a manual entry on a city figure — 1003 special, 1004 city_exp, 1005 treasury,
  3xxx, 4xxx: 0058, ATTACK7 U5); a manual entry that put money into any bank or cash
  account (a debit on 1001-1005 or an account with a holder, the county's own included) was
  written by a reviewer or finance user (0064, ATTACK8 V5).
* ``request_duties`` — separation of duties (0018 A7): a request's approver, rejecter or
  voider did not submit it; its disburser neither submitted nor approved it; its settler
  neither submitted, approved nor disbursed it.
* ``officer_confinement`` — an officer's entries are for its own unit only; its manual
  entries never credit 1003, 1004 city_exp or 1005; an officer's session writes only
  manual and payments entries (0039).
* ``key_namespaces`` — every entry's key is in its kind's namespace; a manual entry's or
  a reversal's in its maker's; a disbursement's or settlement's names its request.
* ``entry_dates`` — nothing dated before the region's first year or after the year
  following its writing; nothing dated in a year before the last year its book had
  closed when it was written (but a reversal in its original's year); nothing that moves
  real money dated after the region's day it was written (plus the allowance).
* ``once_only`` — the city proper's opening balance of a book and component is recorded
  once (a second only after the first was reversed); no county opening is recorded for a
  book after that county's handover transfer of it.
* ``claims_once`` — a benefit claim (a payment import line's reference, per unit) is paid
  once (0043, 0063; its reference folded, 0146): the county's own import never pays a claim the city bureau's import
  had already taken (posted, or held and not rejected), and the bureau's import never pays
  again, with the same content, a claim the county had paid. Read from the import lines of
  the payment namespaces (``CLAIM_COLS``, in the register's (namespace, reference) order:
  one unit's lines at a time are held) and the lines of the rejected held payments.
* ``maker_checker`` also holds 0060's rule (``own_bank_credit``): a credit on a unit's own
  bank account (a holder that is not pooled: 1004 county_exp, the legacy accounts) is
  written in a session of an officer of that unit, or confirmed from a held entry by a
  person other than its maker, or is finance's handover of a legacy account — read from
  the postings on those few accounts (``Rules.own_accounts``).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ledger.core import (
    entry_writers,
    fund_rules,
    histories,
    jsonfast,
    workflow_shapes,
    year_bound,
    year_settings,
)
from ledger.core import funding as funding_core
from ledger.core.chart import BOTH, CHART_BY_CODE
from ledger.core.findings import FINDINGS_CAP, CheckResult, Finding, result, said
from ledger.core.keyed import CodedMap, Field, HeldOf, KeptOf, SortedIds
from ledger.core.references import reference_fold
from ledger.core.rule_binding import Binding, point_key

V = TypeVar("V")

Row = Sequence[str]

# The small tables read for the rules (columns in this order, online and offline).
TABLES: dict[str, tuple[str, ...]] = {
    "pending_entry": ("id", "kind", "book", "idempotency_key", "reverses", "units", "made_by", "maker_role",
                      "maker_unit", "state", "decided_by", "entry_id", "source", "made_at"),
    "app_user": ("name", "role", "unit"),
    "request_event": ("id", "request_id", "action", "actor", "at", "from_state", "to_state"),
    "year_close": ("year", "book", "closed_at", "closed_on", "result"),
    "closed_period": ("month", "closed_by", "closed_at"),
    "setting": ("key", "value"),
    "unit": ("code", "kind"),
    "holder": ("code", "pooled", "chart_code", "counties_only"),
    "chart": ("code", "parent", "kind"),
    "book": ("code", "components", "pooled_component"),
    "budget": ("id", "year", "unit", "book", "version", "imported_by", "imported_at"),
    "budget_line": ("budget_id", "component", "line", "amount"),
    "recon_match": ("id", "bank_account_id", "match_group", "method", "statement_line_id", "posting_id",
                    "matched_by"),
    "statement_line": ("id", "bank_account_id", "direction", "amount"),
    "monitor_ack": ("id", "unit", "book", "level", "since", "acknowledged_on", "acknowledged_by", "acknowledged_at"),
    "import_batch": ("id", "kind", "imported_by", "imported_at", "rows_posted"),
    # (0122) the annual plans' versions and lines, counted by the daily cap on reference data
    "budget_plan": ("id", "imported_by", "imported_at", "year", "book"),
    "budget_plan_line": ("plan_id",),
    # (0138) the insured headcounts' versions, final once their year is closed
    "insured_count": ("id", "year", "unit", "book", "version", "recorded_by", "recorded_at"),
    # (0143) the fund requests' year and book: none submitted or approved after its year's close
    "fund_request": ("id", "year", "book"),
}
# The small tables read as a stream, once, as ``Rules`` is made (its ``__post_init__``), not
# listed: the held entries, one per entry on a maker-checker ledger.
STREAMED = ("pending_entry",)
ORDER_BY: dict[str, str] = {"pending_entry": "id", "app_user": "name", "request_event": "id",
                            "year_close": "book, year", "setting": "key", "unit": "code", "holder": "code",
                            "closed_period": "month", "chart": "code", "book": "code", "budget": "id",
                            "budget_line": "budget_id, component, line",
                            "recon_match": "id", "statement_line": "id", "monitor_ack": "id",
                            "import_batch": "id", "budget_plan": "id", "budget_plan_line": "plan_id, component, kind, period",
                            "insured_count": "id", "fund_request": "id"}
# Columns cast to text when read online (arrays, jsonb: printed as the export prints them).
TEXT_COLS = frozenset({"units", "value", "source", "components", "result"})

# The import register's lines the claims rule reads (fl.import_line, payment namespaces only),
# in the register's own order (namespace, reference): the export's order too.
CLAIM_COLS: tuple[str, ...] = ("namespace", "reference", "content_hash", "entry_id", "batch_id")
# The lines of the rejected held payments (fl.pending_posting): the claims they released.
HELD_LINE_COLS: tuple[str, ...] = ("pending_id", "unit", "side", "line_ref")

CHECKS: tuple[str, ...] = ("maker_checker", "request_duties", "officer_confinement", "key_namespaces", "entry_dates",
                           "once_only", "claims_once", "import_refs", "workflows", "account_rules",
                           entry_writers.CHECK)
DESCRIPTIONS: dict[str, str] = {
    entry_writers.CHECK: entry_writers.DESCRIPTION,
    "maker_checker": "every entry the API holds for a second person (manual entries and reversals that move real "
                     "money or touch 3xxx-5xxx, 1201/2101; reversals of workflow entries; interest, openings, "
                     "pre-allocations, remittances, clearings of unpaid claims) came from a confirmed held entry "
                     "with its key and kind, made by its writer, confirmed by another registered user whose role may "
                     "confirm it (money into a bank or cash account by hand: the bureau or finance); money out of a "
                     "unit's own bank account (county_exp, legacy) at once only by that unit's officer — re-derived in "
                     "Python from the entries, their postings and the held entries",
    "request_duties": "separation of duties on every fund request, from its events: the approver (or rejecter, "
                      "voider) did not submit it, the disburser neither submitted nor approved it, the settler "
                      "neither submitted, approved nor disbursed it",
    "officer_confinement": "an officer's entries are for its own unit only, its manual entries never credit 1003, "
                           "1004 city_exp or 1005, and an officer's session writes only manual and payments entries",
    "key_namespaces": "every entry's key is in its kind's namespace (a manual entry's and a reversal's in its "
                      "maker's, a disbursement's and a settlement's naming its request)",
    "entry_dates": "no entry dated before the region's first year or after the year following its writing, none "
                   "dated in a year before the last year its book had closed when it was written (but a reversal in "
                   "its original's year), none moving real money dated after the region's day it was written, no reversal "
                   "dated before the entry it reverses",
    "once_only": "the city proper's opening balance of a book and component recorded once (again only after a "
                 "reversal); no county opening of a book after that county's handover transfer of it",
    "claims_once": "every benefit claim (a payment line's reference, per unit) paid once: the county's own import "
                   "never pays a claim the city bureau's import had taken (posted, or held and not rejected), the "
                   "bureau's never pays again with the same content a claim the county had paid — re-derived from "
                   "the import register's lines and the rejected held payments",
    "import_refs": "every import register line (fl.import_line: the references an import filed) names an import "
                   "batch that exists and is of its namespace's kind, and, when it names an entry, an entry that "
                   "exists and is of that kind (0004 checks both by a trigger, not a foreign key)",
    "workflows": "the workflows' own rules, from their entries and records: the city proper's opening names only "
                 "city units; a pre-allocation goes to a county, is dated in its year and is at most twelve months "
                 "of the basis it recorded beyond what the county's account held, that basis the books' at its hold "
                 "(the budget then in force, last year's spending, the account's postings written before it); an "
                 "interest allocation's recorded weights and an in-year adjustment-fund allocation's recorded gaps "
                 "are the books' at its moment, less whatever was written after it; an interest period ends on or "
                 "before its entry; a month is closed after its last "
                 "day; a year's close is dated in the year, after the year before (in order, none skipped that "
                 "had benefit flows); no budget of a closed year adjusted after its close; each reconciliation "
                 "match pairs bank lines and postings of one bank account that agree in amount; a monitoring "
                 "warning is acknowledged by its own unit's officer or the city (a red one by the city only), on "
                 "a day not before its start nor after the day it was recorded, its start a month end or that day; "
                 "each year's close keeps the shortfall table the books and the rule give (surplus, then the "
                 "adjustment fund, then the government) and one register item per government share; a "
                 "government share is settled at most once, each clearing exactly the money its entry received "
                 "for the item; an adjustment-fund allocation for a year is dated in it before its close, or after "
                 "it, written after the close, settling that year's share of the unit it pays; a remittance is "
                 "dated in its year; "
                 "every payments and collections entry is what its import writes (payments: Dr 5001.<category>/5101, "
                 "Cr 1004 county_exp — city_exp only in the bureau's session — for its key's unit, one register line "
                 "per claim line, filed by its maker's payments batch; collections: Dr 1003 special, Cr 4001/4101/4501); "
                 "the fund balance 3xxx is moved only by a year's close, an opening or a reversal, and by a manual "
                 "entry only before its book's first close and against no revenue or expenditure account; by none but "
                 "the close against revenue or expenditure (an opening carries balance-sheet balances only), and by "
                 "no reversal of an entry dated in a year its book had closed (fund_balance_close_only); the government's shortfall "
                 "receipts 4101.shortfall are posted only by the clearing of a government-share item of the same book and unit, the close and reversals "
                 "(shortfall_clearing_only); no user's imports (payments, collections, openings) in one region day "
                 "wrote more rows than its role's cap, 100,000 an officer, 2,000,000 the city, nor of budgets, insured headcounts "
                 "and annual plans more than 20,000 (import_daily_cap)",
    "account_rules": "every account is opened as the chart says: on a leaf code, with its book's component (or none "
                     "when the book has none), with a holder exactly when its code has holders and one allowed for "
                     "its code and unit; no entry since 0099 posts a benefit category on a component that does not "
                     "pay it (the pooled fund's 门诊大病/门诊统筹/生育医疗/生育津贴, the personal accounts' 门诊/药店)",
}

# The namespace of each kind's keys (fl._key_in_namespace, re-derived): prefixes.
NAMESPACES: dict[str, tuple[str, ...]] = {
    "manual": ("manual:",), "reversal": ("reversal:",), "opening": ("opening:", "opening-city:"),
    "collections": ("collections:",), "payments": ("payments:",), "handover_transfer": ("handover-transfer:",),
    "preallocation": ("prealloc:",), "interest": ("interest:",),
    "register_clear": ("register-clear:", "govpay:", "adjfund-late:"), "year_close": ("yearclose:",),
    "adjfund_remit": ("adjfund-remit:",), "adjfund_alloc": ("adjfund-alloc:",),
    "request_disburse": ("request:",), "request_settle": ("request:",),
}
# Kinds whose every entry is held for a second person (fl._hold callers).
ALWAYS_HELD = frozenset({"interest", "opening", "adjfund_remit", "preallocation"})
# Who may confirm a held entry of each kind (fl._decider): the rest, officer/reviewer/finance.
CONFIRMERS: dict[str, frozenset[str]] = {
    "reversal": frozenset({"reviewer", "finance"}), "interest": frozenset({"reviewer", "finance"}),
    "opening": frozenset({"reviewer", "finance"}), "adjfund_remit": frozenset({"reviewer", "finance"}),
    "register_clear": frozenset({"reviewer", "finance"}), "preallocation": frozenset({"finance"}),
}
DECIDERS = frozenset({"officer", "reviewer", "finance"})
# Kinds an officer's session may write (fl.entry_inserted, 0039).
OFFICER_KINDS = frozenset({"manual", "payments"})
# The earlier steps whose actor may not take each step (fl.request_duties, 0018 A7).
REQUEST_DUTIES: dict[str, tuple[str, ...]] = {
    "approve": ("submit",), "reject": ("submit",), "void": ("submit",),
    "disburse": ("submit", "approve"), "settle": ("submit", "approve", "disburse"),
}
_DONE = {"submit": "submitted", "approve": "approved", "disburse": "disbursed"}
_SOURCE_KINDS = frozenset({"request_disburse", "request_settle", "register_clear", "adjfund_alloc", "adjfund_remit",
                           "interest"})
# The entries whose postings the rules read (besides those dated after their writing day),
# and those of them whose debit total a rule compares (a pre-allocation's amount, interest).
WANTED_KINDS = frozenset({"manual", "reversal", "opening", "preallocation"})
AMOUNT_KINDS = frozenset({"preallocation"})


def real_money(chart: str, holder: str) -> bool:
    """fl._real_money: a bank account (1001-1005) or an account with a holder."""
    return chart.split(".", 1)[0] in ("1001", "1002", "1003", "1004", "1005") or holder != ""


def held_by_hand(chart: str, holder: str) -> bool:
    """fl._held_by_hand: real money, revenue/expenditure/fund balance (3xxx-5xxx), bonds or
    borrowing (1201, 2101) — a posting by hand on one of these waits for a second person."""
    return real_money(chart, holder) or chart[:1] in ("3", "4", "5") or chart.split(".", 1)[0] in ("1201", "2101")


def city_held(chart: str, holder: str) -> bool:
    """The city's own money accounts (0039): the special account 1003, the city expenditure
    account (1004 city_exp) and the treasury 1005 — an officer never credits them by hand."""
    top = chart.split(".", 1)[0]
    return top in ("1003", "1005") or (top == "1004" and holder in ("", "city_exp"))


# Whose money a bank account (its holder) holds — fl._city_figure's twin, the one place:
# pooled, the city's shared accounts (0058) ...
_CITY_HOLDERS = ("special", "city_exp", "treasury")
# ... awaiting pooling: a county's legacy accounts, whose audited balances the city moves up to
# the special account (上划, BRIEF §5; 0140, ATTACK17 E5) ...
LEGACY_HOLDERS = ("legacy_special", "legacy_revenue", "legacy_expenditure")
# ... and the county's own (county_exp): its pre-allocated money, paid out by its own claims.
COUNTY_HOLDERS = ("county_exp",)


def city_figure(chart: str, holder: str) -> bool:
    """A city figure (0058, ATTACK7 U5): the pooled accounts the city holds (1003 special,
    1004 city_exp, 1005 treasury; either side), (0140, ATTACK17 E5) a county's legacy accounts,
    whose money awaits the transfer up (1002 legacy_revenue, 1003 legacy_special, 1004
    legacy_expenditure; either side), and fund balance, revenue and (0067, ATTACK9 W2)
    expenditure (3xxx-5xxx, either side: what the year-end shortfall rule reads, so two
    officers of one county cannot move their county's deficit) — an officer's manual entry
    on one is confirmed by the city (reviewer or finance)."""
    return holder in _CITY_HOLDERS or holder in LEGACY_HOLDERS or chart[:1] in ("3", "4", "5")


def city_figure_rule(chart: str, holder: str) -> str:
    """Which rule point binds a city figure (``RULE_POINTS``): expenditure 5xxx became one in
    0067 ('city_expenditure'), a county's legacy accounts in 0140 ('legacy_figures'), the rest
    in 0058 ('city_figures') — so a second officer's confirmation of an officer's manual entry
    on one, allowed before its rule, is not a finding."""
    if holder in _CITY_HOLDERS:
        return "city_figures"
    if holder in LEGACY_HOLDERS:
        return "legacy_figures"
    return "city_expenditure" if chart[:1] == "5" else "city_figures"


def money_in(chart: str, holder: str, side: str) -> bool:
    """fl._money_in (0064, ATTACK8 V5): a debit on a bank or cash account (1001-1005, or any
    account with a holder — a county's own expenditure and legacy accounts included). Written
    by hand, it is confirmed by the city bureau or city finance, whoever holds the account."""
    return side == "D" and real_money(chart, holder)


def _json(text: str) -> Any:
    try:
        return jsonfast.loads(text) if text else None
    except ValueError:
        return None


def _source(text: str) -> dict[str, Any]:
    v = _json(text)
    if isinstance(v, list) and v and isinstance(v[-1], dict) and all(x is None for x in v[:-1]):
        v = v[-1]                        # before 0054: [null, {"held": …}] (actors.entry_source)
    return v if isinstance(v, dict) else {}


def _batch_of(src_text: str | None) -> str:
    """An import entry's source's top-level ``import_batch`` (its batch id as text, '' when none),
    read without a JSON parse when the text has the one form jsonb prints and nothing before the key
    can nest it: one object, its first brace the only one before the key, no array, no escape
    (ATTACK13 W5: a nested ``import_batch`` is not the entry's). Anything else is parsed."""
    if not src_text:
        return ""
    i = src_text.find('"import_batch": ')
    if i > 0 and src_text[0] == "{":
        head = src_text[1:i]
        if "{" not in head and "[" not in head and "\\" not in head:
            j = i + len('"import_batch": ')
            k = j
            while k < len(src_text) and src_text[k].isdigit():
                k += 1
            if k > j and k < len(src_text) and src_text[k] in ",}" and src_text.find('"import_batch": ', k) < 0:
                return src_text[j:k]
    elif i < 0 and "import_batch" not in src_text and "\\" not in src_text:
        return ""
    batch = _source(src_text).get("import_batch")
    return "" if batch is None else str(batch)              # a JSON null names no batch, as ->> reads it


def _compact(src: dict[str, Any]) -> dict[str, Any]:
    """A parsed source as kept for every entry a rule judges later (``_E``): its keys and
    short text values interned — a held entry's maker and checker recur on every entry."""
    return {sys.intern(k): sys.intern(v) if isinstance(v, str) and len(v) <= 64 else v for k, v in src.items()}


def _allowance(value: Any) -> dt.timedelta:
    """cash_date_allowance_days as the days it allows (0 for anything unreadable; at most 366)."""
    text = str(value) if value is not None else ""
    return dt.timedelta(days=min(int(text), 366) if text.isdigit() and len(text) <= 3 else 0)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(v: Any) -> int | None:
    try:
        return None if v is None or v == "" else int(v)
    except (TypeError, ValueError, ArithmeticError):  # ArithmeticError: int(inf) from a huge JSON number (ATTACK10 X14)
        return None


def _ts(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _fen(v: int) -> str:
    """Fen as yuan with thousands separators (as the SQL's fl.fmt_fen prints them)."""
    sign = "-" if v < 0 else ""
    return f"{sign}{abs(v) // 100:,}.{abs(v) % 100:02d}"


def _array(text: str) -> list[str]:
    """A text[] as PostgreSQL prints it (``{230822,230881}``; unit codes need no quoting)."""
    inner = text.strip()[1:-1] if text.startswith("{") else text
    return [x.strip('"') for x in inner.split(",") if x] if inner else []


# The tables whose rows written before the chained history (sql/0010) are told apart: their
# history begins with a BACKFILL version, recorded by the migration, before any INSERT.
LEGACY_TABLES = ("fl.entry", "fl.request_event")


def legacy_ids(versions: Iterable[Row]) -> dict[str, set[int]]:
    """The ids of entries and request events written before the chained history existed,
    from history versions (id, tbl, op, row_key) in id order: the rows of a table's
    BACKFILL versions recorded before its first INSERT version. Those rows were written
    under an older release's rules (keys before their namespaces, interest and openings
    before they were held …) and only the rules of their time bound them: the checks here
    judge every row written since. A BACKFILL version appended later (a forger extending
    the chain) comes after the table's first INSERT and makes nothing legacy."""
    out: dict[str, set[int]] = {t: set() for t in LEGACY_TABLES}
    inserted: set[str] = set()
    for v in versions:
        tbl, op = v[1], v[2]
        if tbl not in out or tbl in inserted:
            continue
        if op == "INSERT":
            inserted.add(tbl)
        elif op == "BACKFILL":
            key = _json(v[3])
            rid = _int(key.get("id")) if isinstance(key, dict) else None
            if rid is not None:
                out[tbl].add(rid)
    return out


# The duty rules that bind only the entries written after their migration took effect
# (sql/0068: fl.rule_point, chained): a rule's name -> the revision that brought it. A rule
# with no recorded point judges every entry (the strictest reading).
RULE_POINTS: dict[str, str] = {
    "city_figures": "0058",     # an officer's manual entry on the city's figures: the city confirms
    "money_in": "0064",         # money into a bank or cash account by hand: the city confirms
    "city_expenditure": "0067",  # ... and on expenditure 5xxx (recorded by 0072: ATTACK9 W2 after W6)
    "fund_balance_close_only": "0088",   # the fund balance 3xxx is the close's to move (ATTACK11 Y3)
    "fund_balance_openings": "0095",     # ... openings and reversals held to it too (ATTACK13 W4)
    "category_component": "0099",        # a benefit category is paid by its component only (ATTACK14 V6)
    "category_component_allow": "0115",  # ... read off the chart's allow-list per component (ATTACK15 A1)
    "year_close_date": "0100",           # a year close is dated 31 December of its year (ATTACK14 V3)
    "shortfall_clearing_only": "0101",   # 4101.shortfall is the government-share register's (ATTACK14 V4)
    "import_daily_cap": "0108",          # a user's imports per region day have a cap of their own (Z7's class)
    "import_daily_cap_reference": "0122",  # and its imports of reference data, another (ATTACK15b B7)
    "reversal_date": "0117",             # a reversal is not dated before what it reverses (ATTACK15 A9)
    "component_days": "0125",            # a fund component's money ends no day below zero (ATTACK15 A6)
    "approval_date": "0126",             # disbursements, settlements, clearings follow what they pay (ATTACK15 A10)
    "closed_prefix": "0131",             # nothing dated on or before a closed month once it closed (ATTACK16b D1)
    "closed_year_reference": "0138",     # a closed year's budget, plan, headcounts are final (ATTACK17 E6)
    "legacy_figures": "0140",            # a county's legacy accounts are the city's figures (ATTACK17 E5)
    "closed_year_request": "0143",       # a closed year's fund requests: no submit, no approval after its close (17b F9)
    "closed_year_request_final": "0150",  # ... and no void (an approval is not taken back) after its close (closedyr)
    "closed_year_standard": "0150",      # a closed year's funding standard (fl.setting) is final (closedyr)
    "unit_joined": "0154",               # nothing posted on a unit dated before it joined (ATTACK17b F1)
    "first_day_joined": "0157",          # a registered joining date is the basis: no first-day row for it (G5, G9)
    "closed_year_settings": "0162",      # the settings a closed year is read with are final (F9c)
    "unit_joined_required": "0165",      # a unit with fund figures has a registered joining date (ATTACK19 J2)
    "joined_basis_data": "0176",         # months payable from the later of joining date and first figure (ATTACK21 N9)
}
# (0150, closedyr) The states a fund request counts as approved in the performance review
# (ledger.store.performance): a closed year's request does not leave them after the close.
_COUNTED = frozenset({"approved", "disbursed", "settled"})


def _standard_text(entries: funding_core.StandardText | None) -> str:
    """A closed year's funding standard(s) as the verdict names them: per insured / subsidy at
    least / individual, ratio at most; "none"."""
    if not entries:
        return "none"
    return "; ".join(" / ".join(str(v) for v in e[:3]) + f", {e[3]} : 1" for e in entries)


# (0108) The rows a user's imports may write in one region day (rows_posted of its batches of these
# kinds together), by role: fl._imp_finish's caps (ledger.store.verify.IMPORT_CAP_* in the first pass).
IMPORT_CAP_KINDS = frozenset({"payments", "collections", "opening"})
IMPORT_CAPS: dict[str, int] = {"officer": 100_000}
IMPORT_CAP_CITY = 2_000_000
# (0122, ATTACK15b B7) The imports of reference data — budgets, insured headcounts (batches of these
# kinds) and annual plans (fl.budget_plan's lines, no batch) — together, for any role
# (fl._import_reference_rows; ledger.store.verify.IMPORT_CAP_REFERENCE in the first pass).
IMPORT_REFERENCE_KINDS = frozenset({"budget", "insured"})
IMPORT_CAP_REFERENCE = 20_000
# (0101, ATTACK14 V4) The kinds that post the government's shortfall receipts 4101.shortfall
# besides the clearing of a government-share item (kind register_clear, held to a clearing row of
# such an item of the entry's book and unit): the close and reversals (a reversal mirrors).
SHORTFALL_ACCOUNT = "4101.shortfall"
SHORTFALL_WRITERS = frozenset({"year_close", "reversal"})
# (0088, ATTACK11 Y3) The kinds that move the fund balance 3xxx (一般基金结余): the year-end close,
# the audited openings and their reversals (a reversal mirrors its original; a close is never
# reversed, 0082). A manual entry may, before its book's first close, against a balance-sheet
# account (an opening balance by hand); no other kind ever does. (0095, ATTACK13 W4) An opening
# never against revenue or expenditure (it carries balance-sheet balances only); a reversal only of
# an entry of a year its book had not closed, and only as a reversal of some entry.
FUND_BALANCE_WRITERS = frozenset({"year_close", "opening", "reversal"})


# (0099, ATTACK14 V6) BRIEF §2/§4: in a book with components, the pooled fund (统筹基金) pays 住院/
# 门诊大病/门诊统筹/生育医疗/生育津贴 and the personal accounts (个人账户基金) pay 住院/门诊/药店; the
# components never pay for each other. 0099 named the categories of one component only (住院 is
# either's) — a deny-list, which judges the entries between its point and 0115's:
POOLED_ONLY_CATEGORIES = frozenset({"5001.chronic", "5001.outpatient_pooled", "5001.maternity_medical",
                                    "5001.maternity_allowance"})
PERSONAL_ONLY_CATEGORIES = frozenset({"5001.outpatient", "5001.pharmacy"})
# (0115, ATTACK15 A1) The kinds that may still post an account made before 0115 off its component's
# list: a reversal undoes an entry made before, the close moves what is there to the fund balance.
CATEGORY_COMPONENT_WRITERS = frozenset({"reversal", "year_close"})


def category_component_problem_0099(chart: str, component: str, pooled: str) -> str | None:
    """0099's deny-list (the verdict of the entries between its point and 0115's): why an
    account of benefit category ``chart`` may not be on ``component`` (None if it may)."""
    if not component or not pooled:
        return None
    if chart in POOLED_ONLY_CATEGORIES and component != pooled:
        return f"{chart} is a benefit of the {pooled} fund only (统筹基金支付), not of component {component}"
    if chart in PERSONAL_ONLY_CATEGORIES and component == pooled:
        return f"{chart} is a benefit of the personal accounts only (个人账户支付), not of the {pooled} fund"
    return None


def chart_component_roles(chart: str) -> tuple[str, ...]:
    """(0115) The roles that may carry account ``chart`` in a book with components ("pooled": the
    book's pooled component, "personal": any other), from the chart's allow-list
    (ledger.core.chart): fl.chart_component_roles. Balance-sheet accounts are both's; a revenue or
    expenditure code the chart does not list is nobody's."""
    if chart[:1] not in ("4", "5"):
        return BOTH
    a = CHART_BY_CODE.get(chart)
    return a.roles if a is not None else ()


def category_component_problem(chart: str, component: str, pooled: str) -> str | None:
    """Why an account ``chart`` may not be on ``component`` of a book whose pooled component is
    ``pooled`` (None if it may): fl.category_component_problem (0115), word for word."""
    if not component or not pooled:
        return None
    roles = chart_component_roles(chart)
    if ("pooled" if component == pooled else "personal") in roles:
        return None
    if roles == ("pooled",):
        return f"{chart} is carried by the {pooled} fund only (统筹基金), not by component {component}"
    if roles == ("personal",):
        return f"{chart} is carried by the personal accounts only (个人账户基金), not by the {pooled} fund"
    return (f"{chart} is carried by no component of a book with components (another book's account), "
            f"not by {component}")


def fund_balance(chart: str) -> bool:
    """A fund balance (net assets) account: 3xxx."""
    return chart[:1] == "3"


def fund_balance_problem(kind: str, closed: int | None, against: str | None) -> str | None:
    """Why an entry of ``kind`` may not move the fund balance by 0088's rule (None if it may):
    ``closed`` the last year its book had closed when it was written, ``against`` a revenue or
    expenditure account it also posts (fl.posting_account_rules since 0168, fl.pending_posting_fund_balance)."""
    if kind in FUND_BALANCE_WRITERS:
        return None
    if kind != "manual":
        return (f"no {kind} entry does: the fund balance moves only by the year-end close, the audited openings "
                "and their reversals")
    if against is not None:
        return (f"against {against}: moving a result into or out of the fund balance is the year-end close's "
                "alone")
    if closed is not None:
        return (f"after its book had closed {closed}: the fund balance then moves only by the close, the openings "
                "and their reversals — a closed year's figures are corrected on revenue or expenditure in the open "
                "year, or by reversing the entry in error")
    return None


def opening_reversal_problem(kind: str, closed: int | None, against: str | None, reverses: int | None,
                             reversed_kind: str | None, reversed_year: int | None) -> str | None:
    """(0095, ATTACK13 W4) Why an opening or a reversal may not move the fund balance (None if it
    may): an opening against ``against`` (revenue or expenditure); a reversal of nothing, or of an
    entry dated ``reversed_year``, a year its book had closed (``closed``, when the reversal was
    written). A close's reversal is 0082's (reversal_year_closed), not judged here
    (fl._fund_balance_bad, fl.reversal_allowed_of)."""
    if kind == "opening" and against is not None:
        return (f"against {against}: an opening carries balance-sheet balances only; moving a result into or out of "
                "the fund balance is the year-end close's alone")
    if kind != "reversal":
        return None
    if reverses is None:
        return "a reversal that reverses no entry: a reversal moves it only as the mirror of the entry it reverses"
    if (reversed_kind != "year_close" and closed is not None and reversed_year is not None
            and reversed_year <= closed):
        return (f"the reversal of entry {reverses}, dated {reversed_year}, a year its book had closed ({closed}): a "
                "closed year's fund balance is the close's; its figures are corrected on revenue or expenditure in "
                "the open year")
    return None


RULE_POINT_TABLE = "fl.rule_point"


def _entry_key(text: str) -> int | None:
    """An fl.entry version's key ``{"id": N}`` without a JSON parse (one per entry)."""
    try:
        return int(text[text.index(":") + 1:text.rindex("}")])
    except ValueError:
        key = _json(text)
        return _int(key.get("id")) if isinstance(key, dict) else None


@dataclass
class RulePoints:
    """Where each rule of ``RULE_POINTS`` took effect, read from the chained history
    (versions (id, tbl, op, row_key, row_data) in id order: every ``fl.rule_point`` version
    and the ``fl.entry`` versions — all of them offline, the two either side of each point
    online), never from the table a DBA may rewrite. A point binds the entries with an id
    above its ``after_entry``; it is judged against where the history recorded it: an entry
    above the point recorded before it, or a point naming an entry recorded after it, is a
    moved point (its migration takes a SHARE lock on fl.entry, so the honest point is the
    greatest entry recorded before it). A rule with more than one version was recorded
    again (the first removed with the triggers off): judged from its lowest point."""

    points: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # When each point was recorded (its first version's recorded_at): a rule on rows that are
    # not entries (0138 closed_year_reference) binds the rows recorded after it.
    at: dict[str, dt.datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._versions: dict[str, list[tuple[int, str, int | None, int]]] = defaultdict(list)
        self._max_entry = 0
        self._after: dict[tuple[str, int], int | None] = {}

    @staticmethod
    def after_of(text: str) -> int | None:
        """A point version's ``after_entry`` (None if its text holds none)."""
        data = _json(text)
        return _int(data.get("after_entry")) if isinstance(data, dict) else None

    def feed(self, v: Row) -> None:
        tbl = v[1]
        if tbl == "fl.entry":
            eid = _entry_key(v[3])
            if eid is None:
                return
            self._max_entry = max(self._max_entry, eid)
            for k, low in self._after.items():
                if low is None or eid < low:
                    self._after[k] = eid
        elif tbl == RULE_POINT_TABLE:
            key = _json(v[3])
            rule = str(key.get("rule")) if isinstance(key, dict) else "?"
            after = self.after_of(v[4])
            vid = _int(v[0]) or 0
            data = _json(v[4])
            when = _ts(str(data.get("recorded_at") or "")) if isinstance(data, dict) else None
            if when is not None and rule not in self.at:
                self.at[rule] = when
            self._versions[rule].append((vid, v[2], after, self._max_entry))
            self._after[(rule, vid)] = None

    def watch(self, versions: Iterable[Row]) -> Iterator[Row]:
        """The versions passed through, each fed on the way (one pass over an export's log)."""
        for v in versions:
            self.feed(v)
            yield v

    def finish(self) -> RulePoints:
        for rule, vs in sorted(self._versions.items()):
            if rule not in RULE_POINTS:
                continue
            afters = [a for _vid, _op, a, _m in vs]
            if len(vs) > 1 or any(op != "INSERT" for _vid, op, _a, _m in vs) or None in afters:
                self.problems.append(f"rule point {rule} has {len(vs)} version(s) in the history "
                                     f"({', '.join(op for _v, op, _a, _m in vs)}): a rule's point is recorded once, "
                                     "by its migration, and never changes (0068, rule_point)")
            known = [a for a in afters if a is not None]
            self.points[rule] = min(known) if known and None not in afters else 0
            for vid, _op, after, before in vs:
                low = self._after.get((rule, vid))
                if after and (before < after or (low is not None and low <= after)):
                    self.problems.append(
                        f"rule point {rule} (from {RULE_POINTS[rule]}) says it took effect after entry {after}, but "
                        + (f"the history recorded entry {low} (above it) before the point"
                           if low is not None and low <= after else
                           f"the greatest entry the history recorded before the point is {before}")
                        + ": the point was moved to spare entries written under the rule (0068, rule_point)")
        return self


# The keys of an entry's source the rules read after the stream (``_E.source``): the rest
# (a held entry's maker and checker, judged as the entry passes) is not kept.
_E_SOURCE_KEYS = ("kind", "year", "cap", "from", "to", "register_item", "total", "weights")
_NO_SOURCE: dict[str, Any] = {}       # shared by every kept entry whose source has none of them; never written


@dataclass(slots=True)
class _E:
    """What the rules keep of an entry they judge after the stream (ids they want): one
    per held entry on a maker-checker ledger, so its few-valued texts are interned and
    its source holds only ``_E_SOURCE_KEYS``."""

    kind: str
    key: str
    book: str
    date: str
    created_by: str
    created_at: str
    writer: str
    reverses: int | None
    source: dict[str, Any]


def _ids_in_order(m: Mapping[int, Any]) -> Iterable[int]:
    """``m``'s ids in ascending order: as kept when put so (the entries stream in id order),
    else sorted — no list of every item built where the order is already there."""
    ids = iter(m)
    last = next(ids, None)
    if last is None:
        return m
    for eid in ids:
        if eid <= last:
            return sorted(m)
        last = eid
    return m


def _by_id(m: Mapping[int, V]) -> Iterator[tuple[int, V]]:
    """(id, value) of ``m`` in ascending id order (``_ids_in_order``)."""
    for eid in _ids_in_order(m):
        yield eid, m[eid]


@dataclass
class Rules:
    """Fed as the verdict reads: ``small`` tables first, then ``accounts`` and ``entries``
    (tees of the proof's own streams), then ``postings`` of ``wanted()``; ``finish``."""

    small: Mapping[str, Iterable[Row]]     # STREAMED tables read once, as the rules are made
    cap: int = FINDINGS_CAP
    legacy: Mapping[str, set[int]] = field(default_factory=dict)      # legacy_ids
    points: RulePoints = field(default_factory=RulePoints)            # RulePoints.finish()
    findings: dict[str, list[Finding]] = field(default_factory=lambda: {n: [] for n in CHECKS})
    checked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    acct: dict[str, tuple[str, str, str, str, str]] = field(default_factory=dict)   # id -> book, chart, unit, holder, comp
    # what is kept of each entry judged after the stream, as columns (ledger.core.keyed.KeptOf:
    # ~32 bytes an entry where a dictionary of ``_E`` took ~170; ``get`` gives an ``_E``)
    kept: KeptOf = field(default_factory=lambda: KeptOf(_E, _NO_SOURCE))
    # every entry's (kind, day) as columns (ledger.core.keyed: ~12 bytes an entry, not ~100):
    # the day as YYYYMMDD (0117's rule reads the day; its year is // 10000). The pairs are few
    # (kinds × days), and both are set together for every entry, so one id column and one code
    # column serve both; ``kinds`` and ``days`` read them (keyed.Field) as the two maps were read.
    kind_days: CodedMap[tuple[str, int]] = field(default_factory=CodedMap)
    kinds: Mapping[int, str] = field(init=False)
    days: Mapping[int, int] = field(init=False)
    reversed_by: dict[int, int] = field(default_factory=dict)
    # entry -> its distinct (account, side, posting unit), in the order each first occurs
    # (posting id order): every rule reads only which accounts an entry touched on which
    # side, and names the first that breaks it — never a posting's amount or its repeats.
    # The tuples are few (one per shape, ``_add_legs``), so as columns (ledger.core.keyed.CodedMap).
    legs: MutableMapping[int, tuple[tuple[str, str, str], ...]] = field(default_factory=CodedMap)
    late: set[int] = field(default_factory=set)            # dated after the day they were written
    early: dict[int, str] = field(default_factory=dict)     # dated before the first year now (ATTACK21 N6)
    makers: dict[int, str] = field(default_factory=dict)   # entry -> created_by, for the entries not kept
    # entry -> the own accounts it credits, in the order first credited: a few distinct tuples
    # (a unit's own account, nearly always one), so as columns (ledger.core.keyed: ~12 bytes an
    # entry where a dictionary of lists took ~170 — every settlement credits its unit's account)
    credits: MutableMapping[int, tuple[str, ...]] = field(default_factory=CodedMap)
    debits: dict[int, int] = field(default_factory=lambda: defaultdict(int))   # AMOUNT_KINDS entry -> its debits
    flows: set[tuple[str, int]] = field(default_factory=set)   # (book, year) with benefit collections or payments
    bank_of: dict[str, str] = field(default_factory=dict)       # account id -> its bank account id
    matched: dict[str, tuple[str, str, int]] = field(default_factory=dict)   # matched posting -> account, side, fen
    fund: fund_rules.FundRows = field(default_factory=fund_rules.FundRows)   # the fund's rules' rows
    sum_ids: set[int] = field(default_factory=set)         # entries whose amounts per account fund_rules reads
    # (0100, ATTACK14 V3) (book, year) -> its year_close entries (id, key, date)
    close_entries: dict[tuple[str, int], list[tuple[int, str, str]]] = field(default_factory=lambda: defaultdict(list))
    # where the history recorded each entry and rule point (``placed``; ATTACK10 X1)
    binding: Binding = field(default_factory=Binding)
    # (0150) the funding_standards setting's versions (``settings_history``), in the history's order
    setting_versions: list[histories.SettingVersion] = field(default_factory=list)
    # (ATTACK10 X7) the entries of the kinds an import writes, judged by their shape
    # (``workflow_shapes``): entry -> (kind, key, maker, confirmed from a held entry, import batch)
    shaped: dict[int, tuple[str, str, str, bool, str]] = field(default_factory=dict)
    debit_lines: dict[int, list[int]] = field(default_factory=dict)   # payments -> [debits, with a reference]
    filed: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))   # (entry, namespace) -> lines
    unfiled: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))  # (namespace, batch) -> lines
    # (ATTACK11 Y2) the collections entries one register line of their batch names, once lines are read
    coll_filed: set[int] = field(default_factory=set)
    lines_read: bool = False
    # (ATTACK11 Y3) entry -> the first fund balance (3xxx) account it posts, read by account
    fb_moves: dict[int, str] = field(default_factory=dict)
    cc_moves: dict[int, str] = field(default_factory=dict)     # (V6) entry -> an account of a category off its component
    sc_moves: dict[int, str] = field(default_factory=dict)     # (V4) entry -> the 4101.shortfall account it posts

    def __post_init__(self) -> None:
        self.kinds, self.days = Field(self.kind_days, 0), Field(self.kind_days, 1)
        self._seen: dict[str, tuple[dt.datetime, dt.date, str] | None] = {}
        self._shared_legs: dict[Any, Any] = {}          # ``_add_legs``: one object per distinct leg and shape
        self.old_entries = self.legacy.get("fl.entry", set())
        self.old_events = {str(i) for i in self.legacy.get("fl.request_event", set())}
        self.users = {r[0]: (r[1], r[2]) for r in self.small.get("app_user", ())}
        self.writers = entry_writers.Writers({n: u[0] for n, u in self.users.items()}, self.add)   # ATTACK10 X10
        self.unit_kind = {r[0]: r[1] for r in self.small.get("unit", ())}
        self.batch_kind = {r[0]: sys.intern(r[1]) for r in self.small.get("import_batch", ())}
        settings = {r[0]: _json(r[1]) for r in self.small.get("setting", ())}
        self.first_year = _int(settings.get("first_year")) or 2000
        region = settings.get("region")
        tz = region.get("time_zone") if isinstance(region, dict) else None
        try:
            self.tz = ZoneInfo(str(tz or "Asia/Shanghai"))
        except (KeyError, ValueError):
            self.tz = ZoneInfo("Asia/Shanghai")
        # (ATTACK19b K4) the allowance now: what an entry is judged by when the chained history
        # holds no version of the setting before it (``setting_at``)
        self.allowance_now = settings.get("cash_date_allowance_days")
        self.versions_of: dict[str, list[tuple[histories.Position, Any]]] = {}
        self.closes: dict[str, list[tuple[dt.datetime, int]]] = defaultdict(list)
        for r in self.small.get("year_close", ()):
            at = _ts(r[2])
            if at is not None and _int(r[0]) is not None:
                self.closes[r[1]].append((at, int(r[0])))
        for v in self.closes.values():
            v.sort()
        # entry id -> confirmed held entries naming it. The held entries are one per entry on
        # a maker-checker ledger: only the confirmed ones are kept, each as a tuple with its
        # few-valued columns (kind, book, units, maker, role, unit, state, checker) interned,
        # and the rows as read are let go (the rejected held payments: their id and batch).
        # Each kept as (id, kind, key, units, maker, maker's role, checker): what
        # ``_maker_checker`` reads (``HELD_*``), one tuple of them per entry (rarely two); the
        # key is the entry's own string once the entry streams past with the same key.
        self.held_of = HeldOf()
        self.rejected_payments: dict[int, str] = {}                   # held payments id -> its import batch
        self.held_pay_from: dict[tuple[str, str], set[str]] = defaultdict(set)   # (batch, unit) -> paid from
        # (a bureau's batch holds one payment per unit, book, component and account paid from)
        self.pay_from: dict[int, str] = {}                            # payments entry -> paid from (its key)
        # (ATTACK18b H5) (batch, unit) -> the entries a bureau's held payments of it posted once
        # confirmed (its register lines keep no entry id): whether the payment was reversed
        self.held_paid: dict[tuple[str, str], list[int]] = defaultdict(list)
        intern = sys.intern
        held_at: dict[int, str] = {}          # interest, pre-allocation -> when its hold was made (fund_rules)
        for p in self.small.get("pending_entry", ()):
            eid = _int(p[11])
            if p[9] == "confirmed" and eid is not None:
                # Columns 0-10 (the entry id is the key; the source is not read from here).
                pid = _int(p[0])
                self.held_of.add(eid, (p[0] if pid is None else pid, intern(p[1]), p[3], intern(p[5]), intern(p[6]),
                                       intern(p[7]), intern(p[10])))
                if p[1] in ("interest", "preallocation") and len(p) > 13 and p[13]:
                    held_at[eid] = min(held_at.get(eid, p[13]), p[13])
            if p[1] == "payments" and p[9] == "rejected":
                self.rejected_payments[int(p[0])] = str(_source(p[12] if len(p) > 12 else "").get("import_batch", ""))
            elif p[1] == "payments" and p[9] != "rejected":
                # A bureau payment held (or confirmed: its register lines keep no entry id):
                # its batch and unit, paid from (ATTACK10 X3).
                k = p[3].split(":")
                if len(k) > 5:
                    batch = str(_source(p[12] if len(p) > 12 else "").get("import_batch", ""))
                    self.held_pay_from[(batch, k[2])].add(sys.intern(k[5]))
                    if p[9] == "confirmed" and eid is not None:
                        self.held_paid[(batch, k[2])].append(eid)
        self.small = {k: v for k, v in self.small.items() if k != "pending_entry"}
        # Holders whose accounts are a unit's own bank account (0060: not pooled).
        self.own_holders = {r[0] for r in self.small.get("holder", ()) if r[1] in ("f", "false")}
        self.released: set[tuple[str, str, str]] = set()             # (unit, reference, batch) nobody paid
        f = self.fund
        f.acct, f.kinds, f.legacy = self.acct, self.kinds, frozenset(self.old_entries)
        f.pooled = {r[0]: r[2] for r in self.small.get("book", ()) if len(r) > 2}
        f.chart_kind = {r[0]: r[2] for r in self.small.get("chart", ()) if len(r) > 2}
        f.closes = list(self.small.get("year_close", ()))
        adj = settings.get("adjustment_fund")
        f.adjfund = adj if isinstance(adj, dict) else {}
        f.held_at.update(held_at)      # (read from the rows: held_of keeps columns 0-10 only)
        f.budgets, f.budget_lines = list(self.small.get("budget", ())), list(self.small.get("budget_line", ()))

    # ---- helpers ---------------------------------------------------------------------
    def add(self, check: str, message: str, entry_id: int | None = None, *, request_id: int | None = None,
            account: str | None = None) -> None:
        lst = self.findings[check]
        if len(lst) <= self.cap * 4:
            lst.append(Finding(check, message, entry_id=entry_id, request_id=request_id, account=account))

    def point(self, rule: str) -> int:
        """The greatest entry id a rule does not bind (``RulePoints``; 0: every entry)."""
        return self.points.points.get(rule, 0)

    def recorded_point(self, rule: str) -> int | None:
        """A rule's point as ``point``, or None when the history records none (a ledger or an
        export from before the rule's migration): for a rule that LOOSENS a check above its
        point (0157 first_day_joined), no point means the check is not loosened anywhere."""
        return self.points.points.get(rule)

    def placed(self, first: Mapping[str, Mapping[str, Any]] | None) -> None:
        """Where the history recorded each entry and rule point (``histories.Scan.first``),
        read before ``finish``: a rule binds by that order, not by ids alone (X1)."""
        self.binding = Binding(first)

    def written(self, by_actor: Mapping[str, Iterable[int]] | None) -> None:
        """Who inserted each entry by the history (``histories.Scan.entry_writers``), read
        before ``finish`` (ATTACK10 X10, ledger.core.entry_writers)."""
        self.writers.history(by_actor)

    def _writer_of(self, eid: int) -> str | None:
        e = self.kept.get(eid)
        return e.writer if e is not None else self.makers.get(eid)

    def bound(self, rule: str, eid: int) -> bool:
        """Does ``rule`` bind entry ``eid``: an id above its point, or (ATTACK10 X1: the id is
        the DBA's to choose) an entry the history recorded after the point."""
        return eid > self.point(rule) or self.binding.recorded_after(rule, eid)

    def role(self, who: str | None) -> str | None:
        u = self.users.get(who or "")
        return u[0] if u else None

    def unit_of(self, who: str) -> str:
        u = self.users.get(who)
        return u[1] if u else ""

    # ---- feeding (tees of the proof's own streams) -------------------------------------
    def accounts(self, rows: Iterable[Row]) -> Iterator[Row]:
        """proof.TABLES["account"] rows, passed through."""
        for r in rows:
            self.acct[r[0]] = (r[1], r[2], r[3], r[4], r[5])
            if r[6]:
                self.bank_of[r[0]] = r[6]
            yield r

    def account_days(self, rows: Iterable[Row]) -> Iterator[Row]:
        """proof.TABLES["account_day"] rows, passed through: each account's net movement per
        year (the proof holds the rows to its postings: ``account_days``)."""
        for r in rows:
            self.fund.day(r[0], r[1], r[2], r[3])
            yield r

    def registers(self, items: Iterable[Row], clearings: Iterable[Row]) -> None:
        """The government-share register: ``fund_rules.ITEM_COLS`` rows of fl.register_item
        (others are skipped) and ``CLEARING_COLS`` rows of fl.register_clearing (those of
        other items are skipped)."""
        self.fund.items = [r for r in items if r[1] == "government_share"]
        ids = {r[0] for r in self.fund.items}
        self.fund.clearings = [r for r in clearings if r[1] in ids]

    def sum_postings(self, rows: Iterable[Row]) -> None:
        """Postings of ``sum_ids`` as (entry, account, side, amount) — one posting each, or
        the server's sum per (entry, account, side); others are skipped."""
        for eid, aid, side, amount in rows:
            if int(eid) in self.sum_ids:
                self.fund.posting(int(eid), aid, side, int(amount))

    def entries(self, rows: Iterable[Row]) -> Iterator[Row]:
        """proof.TABLES["entry"] rows, passed through, judged as they pass: the rules that
        need only the entry now, the others kept for ``finish``."""
        for r in rows:
            self._entry(r)
            yield r

    def _entry(self, r: Row) -> None:
        eid = int(r[0])
        if eid <= 0:
            self._id_not_positive(eid, r[3], r[7])
        intern = sys.intern
        book, date, key, kind, created_by, src_text, created_at = (intern(r[1]), intern(r[2]), r[3], intern(r[5]),
                                                                    intern(r[7]), r[10], intern(r[11]))
        rev = _int(r[4])
        self.kind_days[eid] = (kind, int(date[:4]) * 10000 + int(date[5:7]) * 100 + int(date[8:10]))
        if kind in ("collections", "payments"):
            self.flows.add((book, int(date[:4])))
            if kind == "payments":
                k = key.split(":")       # payments:date:unit:book:component:paid_from:…
                if len(k) > 5:
                    self.pay_from[eid] = sys.intern(k[5])
        if rev is not None:
            self.reversed_by.setdefault(rev, eid)
            # (0114, ATTACK15 A4) an allocation's reversal: the rule reads allocations net of it
            orig = self.fund.entries.get(rev)
            if kind == "reversal" and orig is not None and orig.kind == "adjfund_alloc":
                self.fund.alloc_reversals[eid] = (rev, fund_rules.Entry(kind, book, date, key, {}, _ts(created_at)))
                self.sum_ids.add(eid)
        # The source is parsed only where a rule reads it (a held entry's maker and checker,
        # a request's id, a clearing's kind): most entries are imports that carry file and row.
        src = (_compact(_source(src_text)) if src_text and ('"held"' in src_text or kind in _SOURCE_KINDS) else {})
        self.fund.wrote(eid, book, date, created_at)
        if kind in ("year_close", "adjfund_alloc", "adjfund_remit", "register_clear", "interest", "preallocation"):
            self._fund_entry(eid, kind, book, date, key, src, created_at)
        writer = intern(str(src.get("confirmed_by")) if src.get("held") is not None and src.get("confirmed_by")
                        else created_by)
        kept_src = {k: src[k] for k in _E_SOURCE_KEYS if k in src} or _NO_SOURCE
        if eid in self.old_entries:
            if kind in ("opening", "handover_transfer"):          # still what later openings are judged by
                self.kept.put(eid, kind, key, book, date, created_by, created_at, writer, rev, kept_src)
            return
        self.writers.entry(eid, kind, key, created_by)
        self._namespace(eid, kind, key, created_by, src)
        self._dates(eid, book, date, kind, rev, created_at)
        self._officer_session(eid, kind, key, writer, created_by)
        if kind in workflow_shapes.SHAPED_KINDS:
            self._shaped_entry(eid, kind, key, created_by, src_text)
        needs = (kind in ("manual", "reversal", "register_clear", "handover_transfer") or kind in ALWAYS_HELD
                 or eid in self.late)
        held = self.held_of.get(eid)
        if held is not None:
            self.held_of.share_key(eid, key)      # the held entry's key is the entry's: one string kept for both
        if needs or src.get("held") is not None or held is not None:
            self.kept.put(eid, kind, key, book, date, created_by, created_at, writer, rev, kept_src)
        else:
            self.makers[eid] = sys.intern(created_by)     # who wrote it, should it credit a unit's own account

    def _fund_entry(self, eid: int, kind: str, book: str, date: str, key: str, src: dict[str, Any],
                    created_at: str) -> None:
        """The entries fund_rules reads: the closes' (their amounts: the year's figures leave
        them out), the allocations and remittances (dates; an allocation's 4401 credits) and
        the register clearings (a government share's: their amounts)."""
        if kind == "year_close":
            self.fund.closing[eid] = (book, int(date[:4]))
            k = key.split(":")       # yearclose:year:book:unit:kind
            year = _int(k[1]) if len(k) > 1 else None
            self.close_entries[(book, year if year is not None else int(date[:4]))].append((eid, key, date))
            self.sum_ids.add(eid)
            return
        self.fund.entries[eid] = fund_rules.Entry(kind, book, date, key, src, _ts(created_at))
        if (kind in ("adjfund_alloc", "interest", "preallocation")
                or (kind == "register_clear" and src.get("kind") == "government_share")):
            self.sum_ids.add(eid)

    def seals(self, rows: Iterable[Row]) -> Iterable[Row]:
        """proof.TABLES["seal"] rows, passed through: the sealing times of the chain positions
        the writes' marks name (0094, W6) — nothing read when no write recorded one."""
        wanted = self.fund.mark_seqs()
        if not wanted:
            return rows
        keys = {str(s) for s in wanted} | {s for s in wanted}

        def tee() -> Iterator[Row]:
            for s in rows:
                if s[0] in keys:
                    self.fund.sealed_at[int(s[0])] = str(s[8])
                yield s
        return tee()

    def sealed(self, seq_of: Any, queued_at: Mapping[int, Any] | None) -> None:
        """The chain as the proof read it (its ``seq_of``: entry -> seal position) and the
        entries the history recorded as queued (entry -> (digest, queued_at); None when the
        verdict has no history): a write's mark (0094) is judged by them. Before ``finish``."""
        self.fund.seq_of = seq_of.get
        self.fund.head = seq_of.top()
        self.fund.queued_at = None if queued_at is None else {int(k): str(v[1]) for k, v in queued_at.items()}

    def amounts_of_later_writes(self) -> None:
        """Add to ``sum_ids`` the entries written after (or about when) a write whose recorded
        inputs fund_rules re-derives as the books stood then (Z1, Z2): called once the entries
        have streamed, before the amounts are read."""
        self.sum_ids |= self.fund.later_ids()

    def wanted(self) -> set[int]:
        """The entries whose postings the rules read: manual entries and reversals (what they
        touched decides whether they were held; an officer's, its units and credits),
        openings (their unit), entries dated after their writing day (whether they moved
        real money), and (ATTACK10 X7) the entries the imports write, judged by their shape."""
        return {eid for eid, e in self.kept.items() if e.kind in WANTED_KINDS} | self.late | set(self.shaped)

    def wanted_ids(self) -> SortedIds:
        """``wanted()`` in ascending order, 8 bytes an id (``keyed.SortedIds``): the online
        reading walks it in chunks and asks of it, with no set of every kept entry made."""
        return SortedIds.union(self.kept.ids_of_kinds(WANTED_KINDS), self.late, self.shaped)

    def postings(self, rows: Iterable[Row]) -> None:
        """proof.TABLES["posting"] rows of the entries ``wanted`` names (others are skipped),
        in (entry, id) order; each entry keeps its distinct legs only (``legs``), so what
        is kept grows with the entries and accounts, not with the postings."""
        want, shaped = self.wanted(), self.shaped

        def legs() -> Iterator[tuple[int, tuple[str, str, str]]]:
            for r in rows:
                eid = int(r[1])
                if eid in want:
                    if eid in shaped and r[3] == "D":
                        self._debit_lines(eid, 1, 1 if r[7] else 0)
                    yield eid, (r[2], r[3], r[6])

        self._add_legs(legs())

    def distinct_legs(self, rows: Iterable[Row], want: Container[int] | None = None) -> None:
        """The same as ``postings``, from rows that are already one per distinct leg:
        (first posting id, entry id, account id, side, posting unit), in (entry, first
        posting id) order — the online reading (ledger.store.verify_rules), where the server
        groups each entry's postings so that an entry of a hundred postings on two accounts
        prints two rows, not a hundred. The order is each leg's first posting's, so the
        first leg a rule names is the one ``postings`` would name. Two more columns, when
        there (``LEGS_SQL``): the leg's postings and how many carry a reference (X7: a
        payments entry's claim lines, counted, not re-read). ``want``: ``wanted()`` as the
        caller holds it (``wanted_ids``), else made here."""
        want, shaped = (self.wanted() if want is None else want), self.shaped

        def legs() -> Iterator[tuple[int, tuple[str, str, str]]]:
            for r in rows:
                eid = int(r[1])
                if eid in want:
                    if len(r) > 6 and eid in shaped and r[3] == "D":
                        self._debit_lines(eid, int(r[5]), int(r[6]))
                    yield eid, (r[2], r[3], r[4])

        self._add_legs(legs())

    def grouped_legs(self, ids: Sequence[int], keys: Sequence[Sequence[bytes]], want: Container[int]) -> None:
        """The legs of entries the grouped postings judged (online: ``proof.Partial.leg_keys``,
        each entry's distinct ``account|unit|side`` keys in first-posting order, the grouping
        and order ``distinct_legs`` takes from the server), for the entries of ``want``
        (``wanted_ids``, final once the entries have streamed): what ``LEGS_SQL`` would have
        read for them, so it reads only the others (``has_legs``). A shaped entry (X7: its
        debit lines are counted) and any key that is not exactly three fields with a one-letter
        side are left to ``LEGS_SQL``."""
        shaped = self.shaped

        def legs() -> Iterator[tuple[int, tuple[str, str, str]]]:
            for eid, ks in zip(ids, keys, strict=True):
                if eid in want and eid not in shaped:
                    got = [k.decode().split("|") for k in ks]
                    if all(len(f) == 3 and len(f[2]) == 1 for f in got):
                        for aid, unit, side in got:
                            yield eid, (aid, side, unit)

        self._add_legs(legs())

    def has_legs(self, eid: int) -> bool:
        """Are ``eid``'s legs already known (``grouped_legs``)?"""
        return eid in self.legs

    def _debit_lines(self, eid: int, n: int, with_ref: int) -> None:
        c = self.debit_lines.get(eid)
        if c is None:
            self.debit_lines[eid] = c = [0, 0]
        c[0] += n
        c[1] += with_ref

    def _add_legs(self, legs: Iterable[tuple[int, tuple[str, str, str]]]) -> None:
        """Each entry's distinct legs in first-seen order, kept as one tuple per entry (its
        strings interned: a few accounts and units recur across every entry); an entry
        whose legs arrive in more than one run is merged, first-seen order kept."""
        intern = sys.intern
        cur: int | None = None             # (not -1: an entry id may be 0 or below, X1 — a finding, not a misread)
        seen = dict[tuple[str, str, str], None]()

        # Entries of one shape (a unit's settlements of one category: the same two accounts,
        # sides and unit) share one tuple of legs, and every leg is one tuple wherever it recurs.
        shared: dict[Any, Any] = self._shared_legs

        def flush() -> None:
            if cur is not None:
                had = self.legs.get(cur, ())
                got = tuple(dict.fromkeys((*had, *seen))) if had else tuple(seen)
                self.legs[cur] = shared.setdefault(got, got)

        for eid, (aid, side, unit) in legs:
            if eid != cur:
                flush()
                cur, seen = eid, {}
            leg = (intern(aid), intern(side), intern(unit))
            seen[shared.setdefault(leg, leg)] = None
        flush()

    def own_accounts(self) -> set[str]:
        """The ids of the accounts that are a unit's own bank account (a holder not pooled:
        1004 county_exp, the legacy accounts): their credits are 0060's to judge. A few per
        county and book — their postings are read by account (online: the index on it)."""
        return {aid for aid, a in self.acct.items() if a[3] in self.own_holders}

    def fund_balance_accounts(self) -> set[str]:
        """(ATTACK11 Y3) The ids of the fund balance accounts (3xxx): one per book, unit and
        component. Their postings are read by account (online: the index on it); moved only
        by closes and openings, they are few."""
        return {aid for aid, a in self.acct.items() if fund_balance(a[1])}

    def shortfall_accounts(self) -> set[str]:
        """(0101, ATTACK14 V4) The ids of the government's shortfall receipts accounts
        (4101.shortfall): one per book and unit. Posted only by clearings and closes, they are
        few; their postings are read by account."""
        return {aid for aid, a in self.acct.items() if a[1] == SHORTFALL_ACCOUNT}

    def _watched(self) -> tuple[tuple[set[str], dict[int, str]], ...]:
        """The few accounts whose postings rules read by account — the fund balance 3xxx (Y3),
        the shortfall receipts (V4), a category off its component (V6) — each with the entries
        seen moving them."""
        return ((self.fund_balance_accounts(), self.fb_moves), (self.shortfall_accounts(), self.sc_moves),
                (self.category_accounts(), self.cc_moves))

    def watched_accounts(self) -> set[str]:
        """The ids ``_watched`` names, together: online, their postings are read by account."""
        return set().union(*(accounts for accounts, _moves in self._watched()))

    def watched_postings(self, rows: Iterable[Row]) -> None:
        """proof.TABLES["posting"] rows on ``watched_accounts`` (others are skipped)."""
        watched = [(accounts, moves) for accounts, moves in self._watched() if accounts]
        for r in rows:
            for accounts, moves in watched:
                if r[2] in accounts:
                    moves.setdefault(int(r[1]), r[2])

    def category_accounts(self) -> set[str]:
        """(0099, ATTACK14 V6) The ids of the accounts of a benefit category on a component that
        does not pay it (``category_component_problem``): none on a ledger kept by this release
        (fl.account_category_component refuses them), any made before it or by the DBA. Their
        postings are read by account."""
        pooled = {r[0]: r[2] for r in self.small.get("book", ()) if len(r) > 2}
        return {aid for aid, a in self.acct.items()
                if a[4] and category_component_problem(a[1], a[4], pooled.get(a[0], "")) is not None}

    def own_credits(self, rows: Iterable[Row]) -> None:
        """proof.TABLES["posting"] rows on ``own_accounts`` (others are skipped): the credits."""
        own = self.own_accounts()
        for r in rows:
            if r[2] in own:
                self.fund.watch(int(r[1]), r[2], r[3], int(r[4]))     # a pre-allocation's basis (Z2)
            if r[3] == "C" and r[2] in own:
                self._credit(int(r[1]), r[2])

    def _credit(self, eid: int, aid: str) -> None:
        had = self.credits.get(eid, ())
        if aid not in had:
            self.credits[eid] = (*had, sys.intern(aid))      # a few accounts, credited by many entries

    def matched_ids(self) -> set[str]:
        """The postings a reconciliation match names (their account and amount are judged)."""
        return {r[5] for r in self.small.get("recon_match", ()) if r[5]}

    def matched_postings(self, rows: Iterable[Row]) -> None:
        """proof.TABLES["posting"] rows named by ``matched_ids`` (others are skipped)."""
        ids = self.matched_ids()
        for r in rows:
            if r[0] in ids:
                self.matched[r[0]] = (r[2], r[3], int(r[4]))

    def amount_ids(self) -> set[int]:
        """The entries whose debit total a rule compares (``AMOUNT_KINDS``: pre-allocations)."""
        return {eid for eid, e in self.kept.items() if e.kind in AMOUNT_KINDS}

    def amount_postings(self, rows: Iterable[Row]) -> None:
        """proof.TABLES["posting"] rows of ``amount_ids`` (others are skipped): their debits."""
        ids = self.amount_ids()
        for r in rows:
            eid = int(r[1])
            if eid in ids and r[3] == "D":
                self.debits[eid] += int(r[4])

    def every_posting(self, rows: Iterable[Row]) -> None:
        """``postings``, ``own_credits``, ``matched_postings`` and ``amount_postings`` in one
        pass over every posting (an export's, in (entry, id) order)."""
        want, own, ids, amounts = self.wanted(), self.own_accounts(), self.matched_ids(), self.amount_ids()
        shaped = self.shaped
        watched = [(accounts, moves) for accounts, moves in self._watched() if accounts]

        def legs() -> Iterator[tuple[int, tuple[str, str, str]]]:
            for r in rows:
                if ids and r[0] in ids:
                    self.matched[r[0]] = (r[2], r[3], int(r[4]))
                if r[2] in own:
                    self.fund.watch(int(r[1]), r[2], r[3], int(r[4]))     # a pre-allocation's basis (Z2)
                if r[2] in own and r[3] == "C":
                    self._credit(int(r[1]), r[2])
                eid = int(r[1])
                for accounts, moves in watched:
                    if r[2] in accounts:
                        moves.setdefault(eid, r[2])
                if eid in self.sum_ids:
                    self.fund.posting(eid, r[2], r[3], int(r[4]))
                if eid in want:
                    if eid in amounts and r[3] == "D":
                        self.debits[eid] += int(r[4])
                    if eid in shaped and r[3] == "D":
                        self._debit_lines(eid, 1, 1 if r[7] else 0)
                    yield eid, (r[2], r[3], r[6])

        self._add_legs(legs())

    def held_lines(self, rows: Iterable[Row]) -> None:
        """``HELD_LINE_COLS`` rows of held entries (those of ``rejected_payments`` are kept):
        the claims a rejected held payment leaves to the county (0063: each debit line's
        reference, registered under the bureau's namespace by that held entry's batch)."""
        for r in rows:
            batch = self.rejected_payments.get(_int(r[0]) or 0)
            if batch is not None and r[2] == "D" and r[3]:
                self.released.add((r[1], r[3], batch))

    def claims(self, rows: Iterable[Row]) -> None:
        """``CLAIM_COLS`` rows of fl.import_line in (namespace, reference) order — a unit's
        own namespace ``payments:U`` and the bureau's ``payments:U:bureau`` are neighbours
        there, so only one unit's claims are held at a time. Judged as they pass."""
        unit: str | None = None
        county: dict[str, tuple[str, str, str]] = {}
        bureau: dict[str, tuple[str, str, str]] = {}
        filed, unfiled = self.filed, self.unfiled
        self.lines_read = True
        for ns, ref, h, eid, batch in rows:
            self._import_ref(ns, ref, eid, batch)
            if ns.startswith("collections") and eid:
                self._collection_line(ns, ref, int(eid), batch)
                continue
            if not ns.startswith("payments:"):
                continue
            if eid:                                   # (X7) what the register files for each entry
                filed[(int(eid), ns)] += 1
            else:
                unfiled[(ns, batch)] += 1
            parts = ns.split(":")
            if len(parts) == 3 and parts[2] == "bureau":
                side = "bureau"
            elif len(parts) == 2:
                side = "county"
            else:
                continue
            if parts[1] != unit:
                unit, county, bureau = parts[1], {}, {}
            self.checked["claims_once"] += 1
            c: tuple[str, str, str] | None
            b: tuple[str, str, str] | None
            # (0146) One claim on its folded form: the county's stored 囗腔-1 and the bureau's 口腔-1.
            key = reference_fold(ref)
            if side == "bureau":
                if not eid and (unit, ref, batch) in self.released:
                    continue                      # its held payment was rejected: nobody paid it (0063)
                bureau[key] = (h, eid, batch)
                c, b = county.get(key), bureau[key]
            else:
                if not eid:
                    continue
                county[key] = (h, eid, batch)
                c, b = county[key], bureau.get(key)
            if c is not None and b is not None:
                self._paid_twice(unit, ref, c, b)

    def _paid_twice(self, unit: str, ref: str, c: tuple[str, str, str], b: tuple[str, str, str]) -> None:
        """The county's line ``c`` and the bureau's standing line ``b`` of one claim. (ATTACK18b H5)
        A pair whose later payment was reversed is a claim paid once: since 0146 folds references,
        an honest history written under the exact rule (G3 before 0146) holds such a pair, and the
        office's only correction — city finance reverses the duplicate — must make it verify."""
        (ch, ceid, cb), (bh, beid, bb) = c, b
        if beid == ceid or _int(cb) is None or _int(bb) is None:
            return                       # one payment (0043's upgrade filed the bureau's old lines twice)
        b_id = _int(beid)
        # a held line keeps no entry id even once confirmed: its batch's confirmed payments of the unit
        b_ids = [b_id] if b_id is not None else self.held_paid.get((bb, unit), [])
        b_undone = bool(b_ids) and all(e in self.reversed_by for e in b_ids)
        paid = (f"entry {beid}" if beid else f"entry {b_ids[0]}" if len(b_ids) == 1
                else "its held payment, not rejected")
        if int(bb) < int(cb) and _int(ceid) in self.reversed_by:
            return                       # the county's later payment was reversed
        if int(bb) > int(cb) and b_undone:
            return                       # the bureau's later payment was reversed
        if int(bb) < int(cb):
            self.add("claims_once", said("claim {ref} of unit {unit} paid by the county's own import (batch {cb}, entry {ceid}) "
                                         "after the city bureau's import had taken it (batch {bb}, {paid}): a claim is paid once "
                                         "— the county's import skips the bureau's claims unless the bureau's held payment was "
                                         "rejected (0043, 0063)", ref=ref, unit=unit, cb=cb, ceid=ceid, bb=bb, paid=paid), _int(ceid))
        elif int(bb) > int(cb) and bh == ch:
            self.add("claims_once", said("claim {ref} of unit {unit} paid again by the city bureau's import (batch {bb}, {paid}) "
                                         "with the content the county's own import had paid it with (batch {cb}, entry {ceid}): a "
                                         "claim is paid once — the bureau's import skips the county's claims it repeats (0043)", ref=ref, unit=unit, bb=bb, paid=paid, cb=cb, ceid=ceid),
                     _int(beid))
        elif int(bb) > int(cb) and self._from_county(unit, beid, bb) and _int(ceid) not in self.reversed_by:
            self.add("claims_once", said("claim {ref} of unit {unit} paid again by the city bureau's import (batch {bb}, {paid}) "
                                         "from the county's expenditure account, with other content than the county's own import "
                                         "had paid it with (batch {cb}, entry {ceid}, not reversed): a claim is paid once from a "
                                         "county's account — the bureau's row is a conflict until the county's entry is reversed "
                                         "(0070)", ref=ref, unit=unit, bb=bb, paid=paid, cb=cb, ceid=ceid),
                     _int(beid))

    def _import_ref(self, ns: str, ref: str, eid: str, batch: str) -> None:
        """A register line's batch and entry exist and are of its namespace's kind (ATTACK10 X4:
        0004's foreign keys are a trigger; one switched off for one INSERT filed a line naming
        neither, and the county's real import of that claim was skipped as paid)."""
        self.checked["import_refs"] += 1
        kind = ns.split(":", 1)[0]
        line = f"register line {ns} {ref!r}"
        bk = self.batch_kind.get(batch)
        if bk is None:
            self.add("import_refs", said("{line} names import batch {batch}, which does not exist: a line no import filed (the "
                                         "register's link to its batch is checked by a trigger, not a foreign key)", line=line, batch=batch), _int(eid))
        elif bk != kind:
            self.add("import_refs", said("{line} names import batch {batch}, a {bk} import, not a {kind} one", line=line, batch=batch, bk=bk, kind=kind), _int(eid))
        if eid:
            e = _int(eid)
            ek = self.kinds.get(e) if e is not None else None
            if ek is None:
                self.add("import_refs", said("{line} names entry {eid}, which does not exist: the reference is taken (a later import "
                                             "skips it as already done) with nothing posted for it", line=line, eid=eid), e)
            elif ek != kind:
                self.add("import_refs", said("{line} names entry {eid}, a {ek} entry, not a {kind} entry", line=line, eid=eid, ek=ek, kind=kind), e)

    def _collection_line(self, ns: str, ref: str, eid: int, batch: str) -> None:
        """(ATTACK11 Y2) A collections register line and the entry it names: the entry's key is
        the line's (``collections:<unit>:<reference>``), its source names the line's batch, and
        no other line names it (``coll_filed``; judged in ``_collection_register``)."""
        shaped = self.shaped.get(eid)
        if shaped is None or shaped[0] != "collections":
            return                                    # not a collections entry: import_refs names it
        key, ebatch = shaped[1], shaped[4]
        what = f"collections entry {key} by {shaped[2]}"
        if key != f"{ns}:{ref}" and not (ns == "collections" and key.endswith(":" + ref)):
            self.add("workflows", said("{what} is named by register line {ns} {ref!r}, whose reference is not its key's "
                                       "(workflow_shape)", what=what, ns=ns, ref=ref), eid)
        elif ebatch != batch:
            self.add("workflows", said("{what} names import batch {value}, but its register line {ns} {ref!r} was filed by "
                                       "batch {batch} (workflow_shape)", what=what, value=ebatch or 'none', ns=ns, ref=ref, batch=batch), eid)
        elif eid in self.coll_filed:
            self.add("workflows", said("{what} is named by more than one register line (another is {ns} {ref!r}): one imported "
                                       "row, one entry (workflow_shape)", what=what, ns=ns, ref=ref), eid)
        else:
            self.coll_filed.add(eid)

    def _makers_batch(self, eid: int, what: str, kind: str, maker: str, batch: str,
                      batches: Mapping[str, tuple[str, str]]) -> bool:
        """The batch an imported entry names is an import of its kind by its maker (X7, Y2);
        named otherwise."""
        b = batches.get(batch)
        if b is not None and b[0] == kind and b[1] == maker:
            return True
        self.add("workflows", said("{what} names import batch {value}{more}: a {kind} entry is written by its maker's "
                                   "{kind} import (workflow_shape)", what=what, value=batch or 'none', more=(f' ({b[0]} by {b[1]})' if b is not None else said(", which does not exist")), kind=kind), eid)
        return False

    def _collection_register(self, eid: int, what: str, maker: str, batch: str,
                             batches: Mapping[str, tuple[str, str]]) -> None:
        """(ATTACK11 Y2) A collections entry is one imported row: its batch is a collections
        import by its maker, one line of that batch in the register names it, and its one
        debit carries the row's reference."""
        if not self._makers_batch(eid, what, "collections", maker, batch, batches):
            return
        n, n_ref = self.debit_lines.get(eid, [0, 0])
        if n != 1 or n_ref != 1:
            self.add("workflows", said("{what} (batch {batch}) has {n} debit line(s), {n_ref} with a reference: a collections "
                                       "entry is one imported row, its debit carrying the row's reference (workflow_shape)", what=what, batch=batch, n=n, n_ref=n_ref),
                     eid)
        elif self.lines_read and eid not in self.coll_filed:
            self.add("workflows", said("{what} (batch {batch}): no line of the import register names it (every row a "
                                       "collections import posts is filed there, in its unit's namespace; workflow_shape)", what=what, batch=batch), eid)

    def _from_county(self, unit: str, beid: str, batch: str) -> bool:
        """Is the bureau's line paid from the county's expenditure account: its entry's key says
        so (``payments:…:county:…``), or — a held line, whose register row keeps no entry id
        even once confirmed — a held payment (not rejected) of its batch and unit does.
        A line paid from the city's account keeps 0043 S7's rule (it stands against an
        officer's earlier row)."""
        eid = _int(beid)
        if eid is not None:
            return self.pay_from.get(eid) == "county"
        # A batch that pays one unit's claims from both accounts is judged as paying from the
        # county's (its lines are not re-read here): rare, and a second payment out of the
        # county's account is the reading that cannot hide one.
        return "county" in self.held_pay_from.get((batch, unit), ())

    # ---- the per-entry rules ----------------------------------------------------------
    def _namespace(self, eid: int, kind: str, key: str, created_by: str, src: Mapping[str, Any]) -> None:
        self.checked["key_namespaces"] += 1
        prefixes = NAMESPACES.get(kind)
        if prefixes is None:
            self.add("key_namespaces", said("a {kind} entry: no operation writes that kind (its key {key} is in no namespace)", kind=kind, key=key), eid)
            return
        if not key.startswith(prefixes):
            self.add("key_namespaces", said("key {key} is not in the namespace of {kind} entries ({value}…): a key of another "
                                            "operation was taken", key=key, kind=kind, value=' or '.join(prefixes)), eid)
        elif kind in ("manual", "reversal"):
            parts = key.split(":", 2)
            if len(parts) < 3 or parts[1] != created_by:
                self.add("key_namespaces", said("key {key} of a {kind} entry by {created_by} is not filed under {kind}:{created_by}: "
                                                "(each maker's keys are its own)", key=key, kind=kind, created_by=created_by), eid)
        elif kind in ("request_disburse", "request_settle"):
            want = f"request:{src.get('request')}:"
            if src.get("request") is None or not key.startswith(want):
                self.add("key_namespaces", said("key {key} of a {kind} entry does not name its request ({value!s}): expected {want}…", key=key, kind=kind, value=src.get('request'), want=want), eid)

    def _when(self, created_at: str) -> tuple[dt.datetime, dt.date, str] | None:
        """(the moment, the region's day, the last date real money may carry) of a write
        time — cached: every entry of one transaction has the same ``created_at``."""
        w = self._seen.get(created_at)
        if w is None and created_at not in self._seen:
            at = _ts(created_at)
            if at is not None:
                local = at.astimezone(self.tz).date()
                # (ATTACK19b K4) every entry dated after its writing day is kept: the allowance it is
                # judged by (``_cash_date``) is the one in force when it was written, known once the
                # history has been read — a later reload neither accuses nor excuses it
                w = (at, local, local.isoformat())
            self._seen[created_at] = w
        return w

    def _dates(self, eid: int, book: str, date: str, kind: str, rev: int | None, created_at: str) -> None:
        self.checked["entry_dates"] += 1
        year = int(date[:4])
        if year < self.first_year:
            # (ATTACK21 N6) judged at the end by the first year in force when it was written
            # (``_first_year_dates``): a later reload neither accuses nor excuses it
            self.early[eid] = date
        w = self._when(created_at)
        if w is not None:
            at, local, cash_limit = w
            if year > local.year + 1:
                self.add("entry_dates", said("dated {date} but written on {local} (region time): the ledger takes dates "
                                             "up to the end of {year} (entry_date_range)", date=date, local=local,
                                             year=local.year + 1), eid)
            if date > cash_limit:             # ISO dates compare as text
                self.late.add(eid)            # judged once its postings say whether it moved real money
            closes = self.closes.get(book)
            if not closes or year >= max(y for _t, y in closes):
                return
            closed = [y for t, y in closes if t < at]
            if closed and year < max(closed):
                same_year = kind == "reversal" and rev is not None and self.days.get(rev, 0) // 10000 == year
                if not same_year:
                    self.add("entry_dates", said("dated {date} but written at {created_at}, after book {book} had "
                                                 "closed year {year}: nothing may be dated in a year before it "
                                                 "(entry_date_range)", date=date, created_at=created_at, book=book,
                                                 year=max(closed)), eid)

    def _officer_session(self, eid: int, kind: str, key: str, writer: str, maker: str) -> None:
        self.checked["officer_confinement"] += 1
        if self.role(writer) == "officer" and kind not in OFFICER_KINDS:
            self.add("officer_confinement", said("a {kind} entry written by {writer}, an officer: an officer's session writes only manual "
                                                 "entries and its unit's payments (permission_denied, 0039)", kind=kind, writer=writer), eid)
        if self.role(maker) == "officer" and kind == "payments":
            parts = key.split(":")
            unit = self.unit_of(maker)
            if len(parts) > 2 and parts[2] != unit:
                self.add("officer_confinement", said("payments {key} imported by {maker}, an officer of unit {unit}, for unit {value}: an "
                                                     "officer imports its own unit's payments only", key=key, maker=maker, unit=unit, value=parts[2]), eid)

    # ---- the rules judged at the end ----------------------------------------------------
    def finish(self) -> list[CheckResult]:
        for eid, e in _by_id(self.kept):
            if eid in self.old_entries:
                continue
            self._maker_checker(eid, e)
            self._officer_entry(eid, e)
            self._city_figures(eid, e)
            if eid in self.late:
                self._cash_date(eid, e)
        self._own_bank_credits()
        self._fund_balance()
        self._workflows()
        self._shapes()
        self._closes()
        self._budgets()
        self._closed_year_references()
        self._closed_year_requests()
        self._closed_year_standards()
        self._closed_year_settings()
        self._first_year_dates()
        self._matches()
        self._acks()
        self._accounts()
        self._category_components()
        self._shortfall_receipts()
        self._import_days()
        for problem in self.points.problems:
            self.add("maker_checker", problem, account=RULE_POINT_TABLE)
        self._moved_ids()
        self._requests()
        self._once()
        self._fund()
        self.writers.finish(self._writer_of, self.old_entries)
        for rev, message in year_bound.reversal_findings(self.kinds, self.days, self.reversed_by,
                                                         self.old_entries):   # ATTACK10 X13
            self.add("entry_dates", message, rev)
        for rev, message in year_bound.predating_reversals(self.days, self.reversed_by, self.old_entries,
                                                           lambda eid: self.bound("reversal_date", eid)):
            self.add("entry_dates", message, rev)             # ATTACK15 A9 (0117)
        self.checked[entry_writers.CHECK] = self.writers.checked
        return [result(n, DESCRIPTIONS[n], self.checked[n], self.findings[n], self.cap) for n in CHECKS]

    def _fund(self) -> None:
        """year_close_result, register_overpaid, adjfund_cap (late), adjfund_date
        (ledger.core.fund_rules): every close, government-share item and allocation."""
        f = self.fund
        self.checked["workflows"] += len(f.closes) + len(f.items) + len(f.entries)
        for message, eid in fund_rules.findings(f):
            self.add("workflows", message, eid)

    def _touches(self, eid: int) -> list[tuple[str, str, str, str, str, str, str]]:
        """(book, chart, unit, holder, component, side, posting unit) of each posting read."""
        out = []
        for aid, side, punit in self.legs.get(eid, ()):
            a = self.acct.get(aid)
            if a is not None:
                out.append((*a, side, punit))
        return out

    def needs_second_person(self, eid: int, e: _E) -> str | None:
        """Why the API would have held this entry for a second person, or None."""
        if e.kind in ALWAYS_HELD:
            return said("every {kind} entry is", kind=e.kind)
        if e.kind == "register_clear":
            return said("a clearing of unpaid provider claims is") if e.source.get("kind") == "unpaid_claims" else None
        if e.kind == "reversal" and e.reverses is not None and self.kinds.get(e.reverses, "manual") != "manual":
            return said("a reversal of a {kind} entry (a workflow's) is", kind=self.kinds.get(e.reverses))
        if e.kind in ("manual", "reversal"):
            touched = [(c, h) for _b, c, _u, h, _c, _s, _p in self._touches(eid) if held_by_hand(c, h)]
            touched.sort(key=lambda t: not real_money(*t))          # real money named first
            if touched:
                chart, holder = touched[0]
                what = (said("real money") if real_money(chart, holder) else said("revenue, expenditure or fund balance")
                        if chart[:1] in "345" else said("bonds or borrowing"))
                return said("a {kind} entry on {chart}{holder} ({what}) is", kind=e.kind, chart=chart,
                            holder=" " + holder if holder else "", what=what)
        return None

    def _maker_checker(self, eid: int, e: _E) -> None:
        why = self.needs_second_person(eid, e)
        held = self.held_of.get(eid, ())
        if why is not None:
            self.checked["maker_checker"] += 1
        if why is not None and not held:
            self.add("maker_checker", said("{kind} entry {key} by {created_by} was written without a second person: {why} held "
                                           "until a different user confirms it, and no confirmed held entry names this entry "
                                           "(held_entries)", kind=e.kind, key=e.key, created_by=e.created_by, why=why), eid)
            return
        for p in held:
            pid, kind, key, units_text, made_by, maker_role, decided_by = p
            if key != e.key or kind != e.kind or made_by != e.created_by:
                self.add("maker_checker", said("confirmed held entry {pid} ({kind} {key} by {made_by}) names this entry, but the entry "
                                               "is {kind2} {key2} by {created_by}", pid=pid, kind=kind, key=key, made_by=made_by, kind2=e.kind, key2=e.key, created_by=e.created_by), eid)
            if not decided_by or decided_by == made_by:
                self.add("maker_checker", said("held entry {pid} by {made_by} was confirmed by {value}: a second person confirms "
                                               "(maker_checker)", pid=pid, made_by=made_by, value=decided_by or 'no one'), eid)
                continue
            role = self.role(decided_by)
            allowed = CONFIRMERS.get(kind, DECIDERS)
            if role not in allowed:
                self.add("maker_checker", said("held {kind} entry {pid} by {made_by} was confirmed by {decided_by} ({value}); a held "
                                               "{kind} is confirmed by {value2} (permission_denied)", kind=kind, pid=pid, made_by=made_by, decided_by=decided_by, value=role or 'not a fundledger user', value2=' or '.join(sorted(allowed))), eid)
            elif role == "officer":
                units = _array(units_text)
                mine = self.unit_of(decided_by)
                if maker_role != "officer" or self.role(made_by) != "officer" or units != [mine]:
                    self.add("maker_checker", said("held entry {pid} by {made_by} ({maker_role}) for unit(s) {value} was confirmed by "
                                                   "{decided_by}, an officer of unit {mine}: an officer confirms only another officer's "
                                                   "held entry of its own unit (permission_denied)", pid=pid, made_by=made_by, maker_role=maker_role, value=', '.join(units), decided_by=decided_by, mine=mine), eid)

    def _city_figures(self, eid: int, e: _E) -> None:
        """U5: an officer's manual entry on a city figure was confirmed by the city, never
        written in an officer's session (its own or a colleague's of the same county).
        V5 (0064): money into any bank or cash account by hand (a manual entry's debit on one)
        was written in a session of the city bureau or city finance — the confirmer's — whoever
        made it and whoever holds the account. (A reversal's confirmer is judged by
        ``CONFIRMERS``: the bureau or finance, always.)"""
        if e.kind != "manual":
            return
        # (0068, ATTACK9 W6) each rule binds the entries written after it took effect
        if self.role(e.writer) not in ("reviewer", "finance") and self.bound("money_in", eid):
            for _book, chart, _unit, holder, _comp, side, _pu in self._touches(eid):
                if money_in(chart, holder, side):
                    role = self.role(e.writer)
                    self.add("maker_checker", said("manual entry {key} by {created_by} put money into {chart}{value} (a debit on a bank or "
                                                   "cash account) and was {more}{more2}: money into a bank account by hand is confirmed by "
                                                   "the city bureau or city finance, whoever holds the account (0064, city_confirms)", key=e.key, created_by=e.created_by, chart=chart, value=' ' + holder if holder else '', more=(said("confirmed by {writer}, ", writer=e.writer) if e.writer != e.created_by else said("written by ")), more2=(f'an {role}' if role in ('officer', 'auditor', 'admin') else said("not a fundledger user"))), eid)
                    break
        if self.role(e.writer) != "officer":
            return
        for _book, chart, _unit, holder, _comp, _side, _pu in self._touches(eid):
            # each city figure binds from its own rule's point (0058; 5xxx: 0067, recorded by 0072)
            if city_figure(chart, holder) and self.bound(city_figure_rule(chart, holder), eid):
                self.add("maker_checker", said("manual entry {key} by {created_by} on {chart}{value} (a city figure) was {more}: the "
                                               "city bureau or city finance confirms an officer's entry on the city's accounts, a "
                                               "county's legacy accounts awaiting the transfer up, fund balance, revenue or expenditure "
                                               "(0058, 0067, 0140, city_confirms)", key=e.key, created_by=e.created_by, chart=chart, value=' ' + holder if holder else '', more=(said("confirmed by {writer}, an officer", writer=e.writer) if e.writer != e.created_by else said("written by an officer"))), eid)
                return

    def _id_not_positive(self, eid: int, key: str, created_by: str) -> None:
        """ATTACK10 X1: the identity counts from 1 (CHECK entry_id_positive, 0077); an id
        at or below 0 was chosen by whoever restarted the sequence or wrote the row."""
        self.add("maker_checker", said("entry {key} by {created_by} has id {eid}: the journal's ids count from 1 — an id at or "
                                       "below 0 was chosen by whoever restarted the identity or wrote the row, and the duty "
                                       "rules' points (0068) are ids: such an entry is judged by where the history recorded it "
                                       "(entry_id_positive)", key=key, created_by=created_by, eid=eid), eid)

    def _moved_ids(self) -> None:
        """ATTACK10 X1: an entry the history recorded after a rule took effect whose id is
        not above the rule's point (``Binding.moved``)."""
        after = {rule: self.point(rule) for rule in RULE_POINTS}
        for eid, rule, a in self.binding.moved(after):
            self.checked["maker_checker"] += 1
            self.add("maker_checker", said("entry {eid} was recorded in the history after rule {rule} took effect ({value}: every "
                                           "entry above {a}), but its id is not above {a}: the id was chosen (the identity "
                                           "restarted, or written by hand) — it is judged by where the history recorded it "
                                           "(entry_id_moved, 0068)", eid=eid, rule=rule, value=RULE_POINTS[rule], a=a), eid)

    def _shaped_entry(self, eid: int, kind: str, key: str, maker: str, src_text: str) -> None:
        """(ATTACK10 X7) An entry of a kind an import writes, kept to be judged by its shape
        (``_shapes``): its key, maker, whether it was confirmed from a held entry, its batch."""
        if kind == "collections":          # (ATTACK11 Y2) its batch, without a parse per imported row
            self.shaped[eid] = (sys.intern(kind), key, sys.intern(maker), False, _batch_of(src_text))
            return
        src = _source(src_text) if kind == "payments" and src_text else {}
        self.shaped[eid] = (sys.intern(kind), key, sys.intern(maker), src.get("held") is not None,
                            str(src.get("import_batch", "")))

    def _shapes(self) -> None:
        """(ATTACK10 X7) Every payments and collections entry is what its import writes
        (``workflow_shapes``): its legs by side and account, for its key's unit; a payments
        entry's claim lines filed in the register by a payments batch of its maker."""
        batches = {r[0]: (r[1], r[2]) for r in self.small.get("import_batch", ())}
        for eid, (kind, key, maker, held, batch) in sorted(self.shaped.items()):
            self.checked["workflows"] += 1
            what = f"{kind} entry {key} by {maker}"
            unit, paid_from, _bureau = workflow_shapes.payment_key(key) if kind == "payments" else ("", "", False)
            officer = self.role(self.shaped_writer(eid, maker)) == "officer"
            units: set[str] = set()
            for _book, chart, aunit, holder, _comp, side, punit in self._touches(eid):
                why = (workflow_shapes.payment_leg(side, chart, holder, paid_from, officer) if kind == "payments"
                       else workflow_shapes.collection_leg(side, chart, holder))
                units |= {aunit, punit or aunit}
                if why is not None:
                    self.add("workflows", f"{what} {'debits' if side == 'D' else 'credits'} {chart}"
                             f"{' ' + holder if holder else ''}: {why} (workflow_shape)", eid)
                    break
            else:
                if kind == "payments" and units - {unit}:
                    self.add("workflows", said("{what} posts for unit(s) {value}: a payments entry posts for its key's unit {unit} only "
                                               "(workflow_shape)", what=what, value=', '.join(sorted(units - {unit})), unit=unit), eid)
                elif kind == "collections" and len(units) > 1:
                    self.add("workflows", said("{what} posts for units {value}: a collections entry is one unit's (workflow_shape)", what=what, value=', '.join(sorted(units))), eid)
            if kind == "payments":
                self._payment_register(eid, what, unit, maker, held, batch, batches)
            else:
                self._collection_register(eid, what, maker, batch, batches)

    def shaped_writer(self, eid: int, maker: str) -> str:
        """Whose session wrote a shaped entry: its confirmer's when it was held."""
        e = self.kept.get(eid)
        return e.writer if e is not None else maker

    def _payment_register(self, eid: int, what: str, unit: str, maker: str, held: bool, batch: str,
                          batches: Mapping[str, tuple[str, str]]) -> None:
        """(X7) A payments entry's claim lines are the register's: its batch is a payments
        import by its maker, and the register files one reference per debit line for it."""
        if not self._makers_batch(eid, what, "payments", maker, batch, batches):
            return
        n, n_ref = self.debit_lines.get(eid, [0, 0])
        own = f"payments:{unit}"
        filed = max(self.filed.get((eid, own), 0), self.filed.get((eid, own + ":bureau"), 0))
        why = workflow_shapes.register_problem(n, n_ref, filed, self.unfiled.get((own + ":bureau", batch), 0)
                                               if held else None)
        if why is not None:
            self.add("workflows", said("{what} (batch {batch}): {why} (workflow_shape)", what=what, batch=batch, why=why), eid)

    def _fund_balance(self) -> None:
        """(0088, ATTACK11 Y3) The fund balance (3xxx) is the year-end close's to move: every
        entry posting a 3xxx account is a close, an opening or a reversal — or a manual entry
        written before its book's first close, against no revenue or expenditure account (an
        opening balance by hand). Judged above the rule's point. (0095, ATTACK13 W4) An opening
        never against revenue or expenditure, a reversal never of an entry dated in a year its
        book had closed when it was written: judged above that rule's own point."""
        for eid, aid in sorted(self.fb_moves.items()):
            kind = self.kinds.get(eid)
            if kind is None or kind == "year_close" or eid in self.old_entries:
                continue
            self.checked["workflows"] += 1
            rule = "fund_balance_openings" if kind in FUND_BALANCE_WRITERS else "fund_balance_close_only"
            if not self.bound(rule, eid):
                continue
            e = self.kept.get(eid)
            closed: int | None = None
            against: str | None = None
            if e is not None and kind in ("manual", "opening", "reversal"):
                w = self._when(e.created_at)
                done = [y for t, y in self.closes.get(e.book, ()) if w is not None and t < w[0]]
                closed = max(done) if done else None
                against = next((c for _b, c, _u, _h, _c, _s, _p in self._touches(eid) if c[:1] in ("4", "5")), None)
            if kind in FUND_BALANCE_WRITERS:
                rev = e.reverses if e is not None else None
                why = opening_reversal_problem(kind, closed, against, rev,
                                               None if rev is None else self.kinds.get(rev),
                                               None if rev is None or rev not in self.days else self.days[rev] // 10000)
            else:
                why = fund_balance_problem(kind, closed, against)
            if why is not None:
                a = self.acct.get(aid)
                chart = a[1] if a else aid
                key = e.key if e is not None else str(eid)
                self.add("workflows", said("{kind} entry {key} moves fund balance {chart} (一般基金结余) of book {value}: {why} "
                                           "(fund_balance_close_only)", kind=kind, key=key, chart=chart, value=a[0] if a else '?', why=why), eid)

    def _workflows(self) -> None:
        """The rules of the workflows that write held entries (their maker and checker are
        ``maker_checker``'s): opening_city_only, preallocation_county_only / _date / _cap,
        interest_period."""
        for eid, e in _by_id(self.kept):
            if eid in self.old_entries:
                continue
            if e.kind == "opening" and e.key.startswith("opening-city:"):
                self.checked["workflows"] += 1
                for book, chart, unit, _h, _c, _side, punit in self._touches(eid):
                    for u in {unit, punit or unit}:
                        if self.unit_kind.get(u) != "city":
                            self.add("workflows", said("the city proper's opening {key} posts for unit {u} ({book} {chart}), not the city "
                                                       "proper: a county's opening balances come from its handover audit (opening_city_only)", key=e.key, u=u, book=book, chart=chart), eid)
                            break
                    else:
                        continue
                    break
            elif e.kind == "preallocation":
                self._preallocation(eid, e)
            elif e.kind == "interest":
                self._interest(eid, e)

    def _preallocation(self, eid: int, e: _E) -> None:
        self.checked["workflows"] += 1
        parts = e.key.split(":")
        year = _int(parts[1]) if len(parts) > 2 else None
        rec = _int(e.source.get("year"))
        for y in {year, rec}:
            if y is not None and str(y) != e.date[:4]:
                self.add("workflows", said("pre-allocation {key} for {y} dated {date}: a pre-allocation is dated in its year "
                                           "(preallocation_date)", key=e.key, y=y, date=e.date), eid)
                break
        units = {parts[2]} if len(parts) > 2 else set()
        units |= {(p or u) for _b, chart, u, _h, _c, side, p in self._touches(eid) if side == "D"}
        for u in sorted(units):
            if self.unit_kind.get(u) != "county":
                self.add("workflows", said("pre-allocation {key} goes to unit {u}, not a county: pre-allocation (预拨) goes to county "
                                           "units only (preallocation_county_only)", key=e.key, u=u), eid)
                break
        cap = e.source.get("cap")
        if isinstance(cap, dict) and eid in self.debits:
            budget = _int(cap.get("budget_expenditure")) or 0
            prior = max(_int(cap.get("prior_year_expenditure")) or 0, 0)
            held = _int(cap.get("county_account_held")) or 0
            basis = max((2 * budget + 12) // 24 if budget >= 0 else 0, (2 * prior + 12) // 24)
            limit = max(12 * basis - held, 0)
            if self.debits[eid] > limit:
                self.add("workflows", said("pre-allocation {key} moved {value}: more than twelve months of the monthly basis it "
                                           "recorded ({basis}, from a budget of {budget} or last year's spending of {prior}) beyond "
                                           "the {held} the county's expenditure account held, at most {limit} (preallocation_cap)", key=e.key, value=_fen(self.debits[eid]), basis=_fen(basis), budget=_fen(budget), prior=_fen(prior), held=_fen(held), limit=_fen(limit)), eid)

    def _interest(self, eid: int, e: _E) -> None:
        self.checked["workflows"] += 1
        start, end = str(e.source.get("from") or ""), str(e.source.get("to") or "")
        if (start or end) and not (start and end and start <= end <= e.date):
            self.add("workflows", said("interest {key} for the period {value} … {value2} dated {date}: an interest period is a "
                                       "range of days ending on or before the entry date (interest_period)", key=e.key, value=start or '?', value2=end or '?', date=e.date), eid)

    def _closes(self) -> None:
        """period_not_ended, close_date, year_close_order — from fl.closed_period and fl.year_close."""
        for r in self.small.get("closed_period", ()):
            self.checked["workflows"] += 1
            month, at = r[0], _ts(r[2])
            m = _date(month)
            if m is None or at is None:
                continue
            ends = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            local = at.astimezone(self.tz).date()
            if ends > local:
                self.add("workflows", said("period {value} closed by {value2} at {value3}, on {local} in the region: a month is "
                                           "closed after its last day (period_not_ended)", value=month[:7], value2=r[1], value3=r[2], local=local))
        by_book: dict[str, list[tuple[dt.datetime, int, str]]] = defaultdict(list)
        named: set[tuple[str, int]] = set()
        for r in self.small.get("year_close", ()):
            year, at, on = _int(r[0]), _ts(r[2]), r[3] if len(r) > 3 else ""
            if year is None or at is None:
                continue
            self.checked["workflows"] += 1
            by_book[r[1]].append((at, year, on))
            if on and on[:4] != str(year):
                self.add("workflows", said("the close of {year} for book {value} is dated {on}: a close is dated within its year "
                                           "(close_date)", year=year, value=r[1], on=on))
            elif on and on[:10] != f"{year}-12-31" and self._close_bound(r[1], year):
                named.add((r[1], year))
                self.add("workflows", said("the close of {year} for book {value} is dated {on}: a year close is dated {year}-12-31, "
                                           "the last day of the year whose whole revenue and expenditure its entries close "
                                           "(year_close_date)", year=year, value=r[1], on=on))
        # (0100, ATTACK14 V3) ... and so is each of its entries (one the close's row does not name).
        for (book, year), ents in sorted(self.close_entries.items(), key=lambda x: (x[0][0], x[0][1] or 0)):
            for eid, key, date in ents:
                if date[:10] != f"{year}-12-31" and (book, year) not in named and self.bound("year_close_date", eid):
                    self.add("workflows", said("year-end close entry {key} is dated {date}: a year close is dated {year}-12-31, the "
                                               "last day of the year whose whole revenue and expenditure it closes (year_close_date)", key=key, date=date, year=year), eid)
        for book, closes in sorted(by_book.items()):
            closes.sort()
            done: set[int] = set()
            last = None
            for at, year, _on in closes:
                if last is not None and year <= last:
                    self.add("workflows", said("book {book}: year {year} closed at {value}, after year {last}: years close in order "
                                               "(year_close_order)", book=book, year=year, value=at.isoformat(), last=last))
                skipped = [y for y in range(self.first_year, year) if y not in done and (book, y) in self.flows]
                if skipped:
                    self.add("workflows", said("book {book}: year {year} closed at {value} while {value2}, which has benefit "
                                               "collections or payments, was not closed: a year is closed after the year before "
                                               "(year_close_order)", book=book, year=year, value=at.isoformat(), value2=skipped[-1]))
                done.add(year)
                last = year if last is None else max(last, year)

    def _close_bound(self, book: str, year: int) -> bool:
        """Does year_close_date bind the close of ``year`` in ``book``: one of its entries is above
        the rule's point (a close of a year with no revenue or expenditure posts none, and closes
        nothing a date could misstate)."""
        return any(self.bound("year_close_date", eid) for eid, _k, _d in self.close_entries.get((book, year), ()))

    def _budgets(self) -> None:
        """budget_year_closed: no budget version after the first of a year made after the
        year's close of its book (its budget is what the final accounts compare against)."""
        closed = {(r[0], r[1]): _ts(r[2]) for r in self.small.get("year_close", ())}
        for r in self.small.get("budget", ()):
            self.checked["workflows"] += 1
            at, when = closed.get((r[1], r[3])), _ts(r[6])
            if (_int(r[4]) or 0) > 1 and at is not None and when is not None and when > at:
                self.add("workflows", said("budget {value} ({value2}, unit {value3}, book {value4}) version {value5} made by "
                                           "{value6} at {value7}, after the year's close at {value8}: a closed year's budget is "
                                           "final (budget_year_closed)", value=r[0], value2=r[1], value3=r[2], value4=r[3], value5=r[4], value6=r[5], value7=r[6], value8=at.isoformat()))

    def _closed_year_references(self) -> None:
        """year_closed_reference (0138, ATTACK17 E6): no budget, annual plan or insured headcount
        version of a (year, book) recorded after that year's close — judged for the rows recorded
        after the rule's point (before 0138 only a later budget version was refused: ``_budgets``).
        "After the close" is where the chained history recorded the row's first version and the
        close's (ATTACK17b F8: whatever time the row itself claims — a DBA may back-date
        ``imported_at``), as 0131 judges entries; only with no history to read (or a row or close
        it holds no version of) do the rows' own times decide. A point the history does not time
        binds every row. (0142, ATTACK17b F10) a FIRST headcount (version 1) is accepted after the
        close (it fills a gap; the funding report says when it was recorded): not named."""
        closed = {(r[0], r[1]): _ts(r[2]) for r in self.small.get("year_close", ())}
        first = self.binding.first
        close_pos: dict[tuple[str, str], histories.Position] = {}
        for key, pos in ((first or {}).get("fl.year_close") or {}).items():
            k = _json(key)
            if isinstance(k, dict):
                close_pos[(str(k.get("year")), str(k.get("book")))] = pos
        since = self.points.at.get("closed_year_reference")
        rows = [("budget", "fl.budget", r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in self.small.get("budget", ())]
        rows += [("annual plan", "fl.budget_plan", r[0], r[3], "", r[4], "", r[1], r[2])
                 for r in self.small.get("budget_plan", ())]
        rows += [("insured headcount", "fl.insured_count", r[0], r[1], r[2], r[3], r[4], r[5], r[6])
                 for r in self.small.get("insured_count", ())]
        for what, table, rid, year, unit, book, version, who, when_text in rows:
            self.checked["workflows"] += 1
            at, when = closed.get((year, book)), _ts(when_text)
            if at is None:
                continue
            if what == "budget" and (_int(version) or 0) > 1:
                continue                                   # _budgets names it (budget_year_closed)
            if what == "insured headcount" and (_int(version) or 0) == 1:
                continue                                   # a first headcount fills a gap (0142, F10)
            key = f'{{"id": {rid}}}'
            cpos, rpos = close_pos.get((year, book)), (first or {}).get(table, {}).get(key)
            if cpos is not None and rpos is not None:
                if not histories.recorded_before(cpos, rpos):
                    continue                               # the history recorded it before the close
                if not self.binding.row_recorded_after("closed_year_reference", table, key):
                    continue                               # before the rule's point
                told = " (the history recorded it after the close, whatever its own time says)" \
                    if when is not None and when <= at else ""
            elif when is None or when <= at or (since is not None and when <= since):
                continue
            else:
                told = ""
            self.add("workflows", said("{what} {rid} ({year}, {value}book {book}{value2}) recorded by {who} at {when_text}, "
                                       "after the year's close at {value3}{told}: a closed year's reference records are final "
                                       "(year_closed_reference)", what=what, rid=rid, year=year, value='unit ' + unit + ', ' if unit else '', book=book, value2=', version ' + version if version else '', who=who, when_text=when_text, value3=at.isoformat(), told=told))

    def _close_positions(self) -> dict[tuple[str, str], histories.Position]:
        """(year, book) -> where the history recorded that year's close (``Scan.first``)."""
        out: dict[tuple[str, str], histories.Position] = {}
        for key, pos in (((self.binding.first or {}).get("fl.year_close")) or {}).items():
            k = _json(key)
            if isinstance(k, dict):
                out[(str(k.get("year")), str(k.get("book")))] = pos
        return out

    def _closed_year_requests(self) -> None:
        """year_closed_reference (0143, ATTACK17b F9): no fund request of a closed (year, book) is
        submitted or approved after that year's close (the year's performance review reads the
        approved requests) — judged by where the chained history recorded the event against the
        close, above the rule point closed_year_request; with no history, by the event's time.
        (0150, closedyr) Nor does one leave the approved count after the close (a void; by raw SQL
        any event from approved, disbursed or settled to another state): the same judgement,
        above the rule point closed_year_request_final."""
        closed = {(r[0], r[1]): _ts(r[2]) for r in self.small.get("year_close", ())}
        if not closed:
            return
        reqs = {r[0]: (r[1], r[2]) for r in self.small.get("fund_request", ())}
        close_pos = self._close_positions()
        first = self.binding.first
        for ev in self.small.get("request_event", ()):
            eid, rid, action, actor, when_text = ev[0], ev[1], ev[2], ev[3], ev[4]
            was, to = (ev[5], ev[6]) if len(ev) > 6 else ("", "")
            if action in ("submit", "approve"):
                rule, what = "closed_year_request", "neither submitted nor approved"
            elif was in _COUNTED and to not in _COUNTED:
                rule, what = "closed_year_request_final", "not taken out of the approved count (voided)"
            else:
                continue
            if eid in self.old_events:
                continue
            yb = reqs.get(rid)
            at = closed.get(yb) if yb else None
            if yb is None or at is None:
                continue
            self.checked["workflows"] += 1
            key = f'{{"id": {eid}}}'
            cpos, epos = close_pos.get(yb), (first or {}).get("fl.request_event", {}).get(key)
            if cpos is not None and epos is not None:
                if not histories.recorded_before(cpos, epos) or \
                        not self.binding.row_recorded_after(rule, "fl.request_event", key):
                    continue
            else:
                when, since = _ts(when_text), self.points.at.get(rule)
                if when is None or when <= at or (since is not None and when <= since):
                    continue
            self.add("workflows", said("{action} (event {eid}) of fund request {rid} ({value}, book {value2}) by {actor} at "
                                       "{when_text}, after the year's close at {value3}: a closed year's requests are {what} "
                                       "after its close (year_closed_reference)", action=action, eid=eid, rid=rid, value=yb[0], value2=yb[1], actor=actor, when_text=when_text, value3=at.isoformat(), what=what), request_id=_int(rid))

    def settings_history(self, versions: Sequence[histories.SettingVersion] | None) -> None:
        """The versions of the watched settings (``histories.Scan.settings``: the funding
        standards), in the history's id order, read before ``finish`` (0150, closedyr); and
        (ATTACK19b) those of ``histories.VERSIONED_SETTINGS``, by key, for ``setting_at``."""
        self.setting_versions = list(versions or ())
        self.versions_of = {}
        for pos, text, _actor, _when, _ in self.setting_versions:
            row = _json(text)
            if isinstance(row, dict) and row.get("key") in histories.VERSIONED_SETTINGS:
                self.versions_of.setdefault(str(row["key"]), []).append((pos, row.get("value")))
        self.fund.adjfund_at = lambda eid: _mapping(self.setting_at("adjustment_fund", eid, self.fund.adjfund))

    def setting_at(self, key: str, eid: int, now: Any) -> Any:
        """(ATTACK19b K1, K4) The value of setting ``key`` (``histories.VERSIONED_SETTINGS``) in
        force when entry ``eid`` was written: the version the chained history recorded last
        before the entry's first version — by the chain's order, which no one rewrites without
        breaking the chain (``history_chain``), never by a time a row claims. A version recorded
        after the entry neither accuses nor excuses it. ``now`` (the setting's value now) when
        there is no such version: no history read (an export written without it), an entry the
        history holds no version of (written with the triggers off: named by the history's
        checks), or one written before the history held any version of the setting."""
        entries = self.binding.entries
        return self._setting_before(key, None if entries is None else entries.get(histories.entry_key(eid)), now)

    def _tz_of(self, table: str, key: str) -> ZoneInfo:
        """(ATTACK19b) The region's time zone when the row of ``table`` (``histories.ORDERED``)
        whose history key is ``key`` was written — the region setting's version the chained
        history recorded last before the row's first version (``setting_at``); the zone now
        when there is none."""
        first = self.binding.first
        region = self._setting_before("region", None if first is None else first.get(table, {}).get(key), None)
        tz = region.get("time_zone") if isinstance(region, dict) else None
        if not tz:
            return self.tz
        try:
            return ZoneInfo(str(tz))
        except (KeyError, ValueError):
            return self.tz

    def _setting_before(self, key: str, at: histories.Position | None, now: Any) -> Any:
        """``setting_at`` for the write the history recorded at ``at`` (None: ``now``)."""
        versions = self.versions_of.get(key)
        if not versions or at is None:
            return now
        best: tuple[histories.Position, Any] | None = None
        for pos, value in versions:
            if histories.recorded_before(pos, at) and (best is None or histories.recorded_before(best[0], pos)):
                best = (pos, value)
        return now if best is None else best[1]

    def _closed_year_standards(self) -> None:
        """year_closed_reference (0150, closedyr): no version of the funding_standards setting
        changes or removes the standard of a closed (year, book) (a first one for a year that had
        none fills a gap: not named, as the guard takes it) — each version beside the
        one before it (the first beside none: the defaults), judged when the chained history
        recorded it after that year's close and after the rule point closed_year_standard; a
        close the history holds no version of, by the times (the version's against the close's)."""
        closed = {(_int(r[0]), str(r[1])): _ts(r[2]) for r in self.small.get("year_close", ())}
        if not closed or not self.setting_versions:
            return
        close_pos = self._close_positions()
        point = self.binding.points.get(point_key("closed_year_standard"))
        since = self.points.at.get("closed_year_standard")
        before: Any = None
        for pos, text, actor, when_text, _ in self.setting_versions:
            row = _json(text)
            if not isinstance(row, dict) or row.get("key") != "funding_standards":
                continue                                   # (0162) the per-year settings: _closed_year_settings
            now = row.get("value")
            was, before = before, now
            self.checked["workflows"] += 1
            if point is not None and not histories.recorded_before(point, pos):
                continue
            old, new = funding_core.standards_by_year(was), funding_core.standards_by_year(now)
            when = _ts(when_text)
            for (year, book), at in sorted(closed.items(), key=lambda x: (x[0][0] or 0, x[0][1])):
                if year is None or old.get((year, book)) is None or old.get((year, book)) == new.get((year, book)):
                    continue                               # unchanged, or a first one (it fills a gap)
                cpos = close_pos.get((str(year), book))
                if cpos is not None:
                    if not histories.recorded_before(cpos, pos):
                        continue
                elif at is None or when is None or when <= at or (point is None and since is not None and when <= since):
                    continue
                self.add("workflows", said("the funding standard of {year} (book {book}) changed by {actor} at {when_text} "
                                           "(fl.setting funding_standards, history id {value}), after the year's close at {value2}: "
                                           "{value3} → {value4}; a closed year's funding standard is final (year_closed_reference)", year=year, book=book, actor=actor, when_text=when_text, value=pos[1], value2=at.isoformat() if at else '?', value3=_standard_text(old.get((year, book))), value4=_standard_text(new.get((year, book)))))

    def _first_year_dates(self) -> None:
        """entry_date_range's first half (ATTACK21 N6; K1's class): each entry against the region's
        first year in force when it was written (``setting_at``: the first_year version the chained
        history recorded last before the entry) — never the setting as it is now, which a reload may
        have moved since. An entry within the first year of its time that a first_year version recorded
        after it put before the first year is not accused: the version is, once (the guard's twin,
        sql/0175: the first year never moves past an entry on the books). The candidates are the
        entries dated before the first year now (``early``, kept while the entries stream) and, when
        some version ever held a later first year than now, every entry dated before that one."""
        versions = [(pos, _int(v)) for pos, v in self.versions_of.get("first_year", ())]
        top = max([self.first_year, *(v for _p, v in versions if v is not None)])
        candidates: dict[int, str] = dict(self.early)
        if top > self.first_year:
            for eid, day in self.days.items():
                if day // 10000 < top and eid not in candidates and eid not in self.old_entries:
                    candidates[eid] = f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}"
        entries = self.binding.entries
        moved: dict[histories.Position, tuple[str, int, int]] = {}
        for eid, date in sorted(candidates.items()):
            year = int(date[:4])
            first = _int(self.setting_at("first_year", eid, self.first_year)) or 2000
            if year < first:
                self.add("entry_dates", said("dated {date}, before the region's first year {first} in force when it was written "
                                             "(entry_date_range)", date=date, first=first), eid)
                continue
            at = None if entries is None else entries.get(histories.entry_key(eid))
            for pos, v in versions:
                if v is not None and v > year and histories.recorded_before(at, pos):
                    if pos not in moved or (date, eid) < moved[pos][:2]:
                        moved[pos] = (date, eid, v)
                    break
        for pos, (date, eid, v) in sorted(moved.items(), key=lambda x: x[1]):
            self.add("entry_dates", said("fl.setting first_year set to {v} (history id {value}) after entry {eid} dated {date} "
                                         "was on the books: the region's first year never moves past an entry already written "
                                         "(entry_date_range, sql/0175)", v=v, value=pos[1], eid=eid, date=date), account=said("setting first_year"))

    def _closed_year_settings(self) -> None:
        """year_closed_reference (0162, F9c; 0166, ATTACK19b K2): no transaction's versions of the
        per-year settings (the monitor's colours, the 略有结余 range, the review's weights, the
        final accounts' eliminations, the [settings.YEAR] tables) change what is in force for a
        closed year (``ledger.core.year_settings.in_force``, the guard's reading) — the versions one
        transaction recorded (a run of them with the same sealed vxid; without seals, each alone)
        laid together over the state the versions before them left (none: the defaults) and the
        state they leave compared with it, as the guard compares at that transaction's commit; judged
        when the chained history recorded the run's last version after a close of that year (any
        book) and after the rule point closed_year_settings; a close the history holds no version
        of, by the times. A key's first version is taken (the guard's first writing of a key the
        ledger never held)."""
        closes: dict[int, list[tuple[str, dt.datetime | None]]] = defaultdict(list)
        for r in self.small.get("year_close", ()):
            y = _int(r[0])
            if y is not None:
                closes[y].append((str(r[1]), _ts(r[2])))
        if not closes or not self.setting_versions:
            return
        watched = {*year_settings.PER_YEAR, year_settings.FROM_YEAR}
        runs: list[list[tuple[histories.SettingVersion, dict[str, Any]]]] = []
        for v in self.setting_versions:
            row = _json(v[1])
            if not isinstance(row, dict) or row.get("key") not in watched:
                continue
            if runs and v[4] is not None and runs[-1][-1][0][4] == v[4]:
                runs[-1].append((v, row))
            else:
                runs.append([(v, row)])
        close_pos = self._close_positions()
        point = self.binding.points.get(point_key("closed_year_settings"))
        since = self.points.at.get("closed_year_settings")
        state: dict[str, Any] = {}
        for run in runs:
            was = dict(state)
            for _, row in run:
                state[str(row["key"])] = row.get("value")
                self.checked["workflows"] += 1
            for key in state.keys() - was.keys():
                was[key] = state[key]                      # a key's first version: taken, as the guard does
            pos, _, actor, when_text, _ = run[-1][0]
            if point is not None and not histories.recorded_before(point, pos):
                continue
            when = _ts(when_text)
            names = ", ".join(dict.fromkeys(str(row["key"]) for _, row in run))
            for year in sorted(closes):
                keys = year_settings.changed(was, state, year)
                if not keys:
                    continue
                after: dt.datetime | None = None
                for book, at in closes[year]:
                    cpos = close_pos.get((str(year), book))
                    if cpos is not None:
                        if histories.recorded_before(cpos, pos):
                            after = at or dt.datetime.min
                    elif at is not None and when is not None and when > at and not (
                            point is None and since is not None and when <= since):
                        after = at
                    if after is not None:
                        break
                if after is None:
                    continue
                self.add("workflows", said("the settings in force for {year} ({value}) changed by {actor} at {when_text} "
                                           "(fl.setting {names}, history id {value2}), after the year's close at {value3}: a closed "
                                           "year's settings are final (year_closed_reference)", year=year, value=', '.join(keys), actor=actor, when_text=when_text, names=names, value2=pos[1], value3=after.isoformat() if after != dt.datetime.min else '?'))

    def _matches(self) -> None:
        """recon_match (fl.record_matches): each match group pairs at least one statement line
        and one posting, all of the match's bank account, the lines' money (in - out) equal to
        the postings' (debits - credits)."""
        lines = {r[0]: r for r in self.small.get("statement_line", ())}
        groups: dict[str, list[Row]] = defaultdict(list)
        for r in self.small.get("recon_match", ()):
            groups[r[2]].append(r)
        for g, items in sorted(groups.items(), key=lambda x: _int(x[0]) or 0):
            self.checked["workflows"] += 1
            bank, by = items[0][1], items[0][6]
            money, n_lines, n_posts, wrong = 0, 0, 0, []
            for it in items:
                if it[1] != bank:
                    wrong.append(f"item {it[0]} of bank account {it[1]}")
                if it[4]:
                    n_lines += 1
                    ln = lines.get(it[4])
                    if ln is None or ln[1] != bank:
                        wrong.append(f"statement line {it[4]}" + (f" of bank account {ln[1]}" if ln else ""))
                    elif (_int(ln[3]) or 0) > 0:
                        money += int(ln[3]) if ln[2] == "in" else -int(ln[3])
                if it[5]:
                    n_posts += 1
                    p = self.matched.get(it[5])
                    if p is None or self.bank_of.get(p[0]) != bank:
                        wrong.append(f"posting {it[5]}" + (f" on account {p[0]}" if p else ""))
                    else:
                        money -= p[2] if p[1] == "D" else -p[2]
            what = f"reconciliation match group {g} of bank account {bank} (by {by})"
            if wrong:
                self.add("workflows", said("{what} names {value}: not on that bank account (recon_match)", what=what, value=', '.join(wrong[:3])))
            elif not n_lines or not n_posts or money:
                self.add("workflows", said("{what}: {n_lines} bank line(s) and {n_posts} posting(s) that differ by {money}: a match "
                                           "pairs lines and postings that agree in amount (recon_match)", what=what, n_lines=n_lines, n_posts=n_posts, money=_fen(money)))

    def _acks(self) -> None:
        """unit_scope, ack_role, ack_date, ack_since (fl.monitor_acknowledge) over every
        acknowledgement: its writer (``acknowledged_by``, the session's login) by role now."""
        for r in self.small.get("monitor_ack", ()):
            self.checked["workflows"] += 1
            aid, unit, level, since, on, by, at = r[0], r[1], r[3], r[4], r[5], r[6], _ts(r[7])
            what = f"acknowledgement {aid} of unit {unit}'s {level} warning (book {r[2]}) by {by}"
            role = self.role(by)
            if role not in ("officer", "reviewer", "finance"):
                self.add("workflows", said("{what}, {value}: a warning is acknowledged by the unit's officer, the city bureau or "
                                           "city finance (ack_role)", what=what, value=role or 'not a fundledger user'))
            elif role == "officer" and self.unit_of(by) != unit:
                self.add("workflows", said("{what}, an officer of unit {value}: an officer acknowledges its own unit's warnings "
                                           "only (unit_scope)", what=what, value=self.unit_of(by)))
            elif role == "officer" and level == "red":
                self.add("workflows", said("{what}, the unit's own officer: a red warning is acknowledged by the city bureau or "
                                           "city finance (ack_role)", what=what))
            d_since, d_on = _date(since), _date(on)
            if d_since is None or d_on is None:
                continue
            if at is not None and d_on > at.astimezone(self.tz).date():     # the region's day (0056)
                self.add("workflows", said("{what} is for {on}, after the day it was recorded ({value}): an acknowledgement is not "
                                           "dated in the future (ack_date)", what=what, on=on, value=r[7]))
            if d_since != d_on and (d_since + dt.timedelta(days=1)).day != 1:
                self.add("workflows", said("{what}: the warning's start {since} is neither a month end nor the acknowledgement day "
                                           "{on} (ack_since)", what=what, since=since, on=on))

    def _accounts(self) -> None:
        """account_leaf, account_component, account_holder (fl.account_for) over every account."""
        parents = {r[1] for r in self.small.get("chart", ()) if r[1]}
        comps = {r[0]: _array(r[1]) for r in self.small.get("book", ())}
        holders: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for r in self.small.get("holder", ()):
            if len(r) > 3:
                holders[r[2]].append((r[0], r[3] in ("t", "true")))
        for aid, (book, chart, unit, holder, comp) in sorted(self.acct.items(), key=lambda a: _int(a[0]) or 0):
            self.checked["account_rules"] += 1
            what = f"account {aid} ({book} {chart} unit {unit}{' ' + holder if holder else ''}{' ' + comp if comp else ''})"
            if chart in parents:
                self.add("account_rules", said("{what}: code {chart} has sub-accounts; postings go on a leaf code (account_leaf)", what=what, chart=chart), account=aid)
            allowed_c = comps.get(book)
            if allowed_c is not None and (comp not in allowed_c if allowed_c else comp != ""):
                self.add("account_rules", said("{what}: book {book} takes the component{value}, not {value2} (account_component)", what=what, book=book, value=' ' + ' or '.join(allowed_c) if allowed_c else ' none', value2=comp or 'none'), account=aid)
            allowed_h = [h for h, counties in holders.get(chart, ()) if not counties or
                         self.unit_kind.get(unit) == "county"]
            if (holder != "") != bool(allowed_h) or (holder and holder not in allowed_h):
                self.add("account_rules", said("{what}: holder {value} where code {chart} for this unit takes {value2} (account_holder)", what=what, value=holder or 'none', chart=chart, value2=', '.join(sorted(allowed_h)) or 'none'), account=aid)

    def _category_components(self) -> None:
        """(0099, ATTACK14 V6; 0115, ATTACK15 A1) No entry posts an account on a component that
        does not carry it but a reversal (which undoes one made before) or the close (which moves
        what is there): above 0115's point by the chart's allow-list, between 0099's and 0115's by
        0099's deny-list (an entry is not judged by a rule written after it)."""
        pooled = {r[0]: r[2] for r in self.small.get("book", ()) if len(r) > 2}
        for eid, aid in sorted(self.cc_moves.items()):
            kind = self.kinds.get(eid)
            if kind in CATEGORY_COMPONENT_WRITERS or eid in self.old_entries:
                continue
            self.checked["account_rules"] += 1
            book, chart, unit, _holder, comp = self.acct[aid]
            if self.bound("category_component_allow", eid):
                why = category_component_problem(chart, comp, pooled.get(book, ""))
            elif self.bound("category_component", eid):
                why = category_component_problem_0099(chart, comp, pooled.get(book, ""))
            else:
                continue
            if why is None:
                continue
            e = self.kept.get(eid)
            self.add("account_rules", said("{value} entry {value2} posts account {aid} (book {book}, unit {unit}): {why} — the "
                                           "components never pay for each other (不得相互挤占) (category_component)", value=kind or 'an', value2=e.key if e is not None else eid, aid=aid, book=book, unit=unit, why=why), eid)

    def _shortfall_receipts(self) -> None:
        """(0101, ATTACK14 V4) The government's shortfall receipts 4101.shortfall are the
        register's: every entry above the rule's point posting one is a close, a reversal, or the
        clearing (register_clear) of a government-share item of the same book and unit — a
        clearing row of such an item names the entry. So the monitor's receipts (the account) and
        the shortfall rule's (the clearings) are one figure, and no payment by hand leaves its item
        owed."""
        cleared: dict[int, set[tuple[str, str]]] = defaultdict(set)
        items = {str(r[0]): (str(r[3]), str(r[2])) for r in self.fund.items}
        for c in self.fund.clearings:
            it = items.get(str(c[1]))
            if it is not None and c[4] not in (None, ""):
                cleared[int(c[4])].add(it)
        for eid, aid in sorted(self.sc_moves.items()):
            kind = self.kinds.get(eid)
            if kind in SHORTFALL_WRITERS or eid in self.old_entries:
                continue
            self.checked["workflows"] += 1
            if not self.bound("shortfall_clearing_only", eid):
                continue
            book, _chart, unit, _holder, _comp = self.acct[aid]
            if kind == "register_clear" and (book, unit) in cleared.get(eid, ()):
                continue
            e = self.kept.get(eid)
            self.add("workflows", said("{value} entry {value2} posts {SHORTFALL_ACCOUNT} (book {book}, unit {unit}) but clears "
                                       "no government-share item of that unit: the government's payment of its share is "
                                       "recorded only by clearing its register item (government pay), so the shortfall rule and "
                                       "the monitor read one figure and the item does not stay owed (shortfall_clearing_only)", value=kind or 'an', value2=e.key if e is not None else eid, SHORTFALL_ACCOUNT=SHORTFALL_ACCOUNT, book=book, unit=unit), eid)

    def _import_days(self) -> None:
        """(0108, Z7's class) The rows a user's imports wrote in one region day — the batches of
        the kinds that post (payments, collections, openings), each its rows_posted, on the day of
        its imported_at in the region's time zone — are at most its role's cap, counted from the
        batches the history recorded after the rule's point (as fl._imp_finish's counter counts
        them: the batches of the upgrade's day before it are not counted)."""
        days: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0, 0])
        for r in self.small.get("import_batch", ()):
            if len(r) < 5 or r[1] not in IMPORT_CAP_KINDS:
                continue
            at, n = _ts(r[3]), _int(r[4])
            if at is None or n is None or not self.binding.row_recorded_after(
                    "import_daily_cap", "fl.import_batch", f'{{"id": {r[0]}}}'):
                continue
            day = at.astimezone(self._tz_of("fl.import_batch", f'{{"id": {r[0]}}}')).date() \
                if at.tzinfo is not None else at.date()
            d = days[(r[2], day)]
            d[0] += n
            d[1] += 1
        for (who, day), (n, files) in sorted(days.items()):
            self.checked["workflows"] += 1
            role = self.role(who)
            cap = IMPORT_CAPS.get(role or "officer", IMPORT_CAP_CITY)
            if n > cap:
                self.add("workflows", said("{who} ({value}) imported {n:,} rows on {day} (the region's day, {files} file(s): "
                                           "payments, collections and openings), more than the {cap:,} a day its role may import: "
                                           "the daily cap on imports was not applied (import_daily_cap)", who=who, value=role or 'no user', n=n, day=day, files=files, cap=cap))
        self._reference_import_days()

    def _reference_import_days(self) -> None:
        """(0122, ATTACK15b B7) The rows a user's imports of reference data wrote in one region day —
        its budget and headcount batches (rows_posted) and its annual plans' versions (their lines)
        — are at most 20,000, counted from the rows the history recorded after the rule's point."""
        rule = "import_daily_cap_reference"
        days: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0, 0])

        def count(who: str, at_text: str, n: int | None, table: str, key: str) -> None:
            at = _ts(at_text)
            if at is None or n is None or not n or not self.binding.row_recorded_after(rule, table, key):
                return
            day = at.astimezone(self._tz_of(table, key)).date() if at.tzinfo is not None else at.date()
            d = days[(who, day)]
            d[0] += n
            d[1] += 1

        for r in self.small.get("import_batch", ()):
            if len(r) >= 5 and r[1] in IMPORT_REFERENCE_KINDS:
                count(r[2], r[3], _int(r[4]), "fl.import_batch", f'{{"id": {r[0]}}}')
        lines: dict[str, int] = defaultdict(int)
        for r in self.small.get("budget_plan_line", ()):
            lines[r[0]] += 1
        for r in self.small.get("budget_plan", ()):
            if len(r) >= 3:
                count(r[1], r[2], lines.get(r[0], 0), "fl.budget_plan", f'{{"id": {r[0]}}}')
        for (who, day), (n, files) in sorted(days.items()):
            self.checked["workflows"] += 1
            if n > IMPORT_CAP_REFERENCE:
                self.add("workflows", said("{who} ({value}) imported {n:,} rows of reference data on {day} (the region's day, "
                                           "{files} file(s): budgets, insured headcounts and annual plans), more than the "
                                           "{IMPORT_CAP_REFERENCE:,} a day a user may import: the daily cap on imports was not "
                                           "applied (import_daily_cap)", who=who, value=self.role(who) or 'no user', n=n, day=day, files=files, IMPORT_CAP_REFERENCE=IMPORT_CAP_REFERENCE))

    def _own_bank_credits(self) -> None:
        """0060 (ATTACK7 U11): money out of a unit's own bank account (a credit on an account
        whose holder is not pooled) posts at once only in a session of an officer of that unit;
        anyone else's such entry was held and confirmed by a person other than its maker; or it
        is the handover of a legacy account (its whole balance to the special account)."""
        for eid in _ids_in_order(self.credits):
            if eid in self.old_entries:
                continue
            e = self.kept.get(eid)
            kind = e.kind if e is not None else self.kinds.get(eid, "")
            writer = e.writer if e is not None else self.makers.get(eid, "")
            for aid in self.credits[eid]:
                _book, chart, unit, holder, _comp = self.acct[aid]
                self.checked["maker_checker"] += 1
                if self.role(writer) == "officer" and self.unit_of(writer) == unit:
                    continue
                if kind == "handover_transfer" and holder.startswith("legacy_"):
                    continue
                if any(p[6] and p[6] != p[4] for p in self.held_of.get(eid, ())):
                    continue
                role = self.role(writer)
                self.add("maker_checker", said("{kind} entry {eid} moved money out of unit {unit}'s own bank account ({chart} {holder}) "
                                               "at once, written by {value} ({value2}): only an officer of unit {unit} does that at "
                                               "once; anyone else's such entry is held until a second person confirms it "
                                               "(own_bank_credit, 0060)", kind=kind, eid=eid, unit=unit, chart=chart, holder=holder, value=writer or 'no one', value2=role or 'not a fundledger user'),
                         eid)
                break

    def _officer_entry(self, eid: int, e: _E) -> None:
        if self.role(e.created_by) != "officer":
            return
        unit = self.unit_of(e.created_by)
        for book, chart, aunit, holder, _comp, side, punit in self._touches(eid):
            if aunit != unit or (punit and punit != unit):
                self.add("officer_confinement", said("{kind} entry {key} by {created_by}, an officer of unit {unit}, posts for unit {aunit} "
                                                     "({book} {chart}): an officer posts for its own unit only (permission_denied)", kind=e.kind, key=e.key, created_by=e.created_by, unit=unit, aunit=aunit, book=book, chart=chart), eid)
                return
            if e.kind == "manual" and side == "C" and city_held(chart, holder):
                self.add("officer_confinement", said("manual entry {key} by {created_by}, an officer, credits {chart} {holder} (money out of "
                                                     "the city's account by hand): money leaves the special account, the city expenditure "
                                                     "account and the treasury only through fund requests or an entry of the city bureau or "
                                                     "finance (manual_policy)", key=e.key, created_by=e.created_by, chart=chart, holder=holder), eid)
                return

    def _cash_date(self, eid: int, e: _E) -> None:
        """cash_date_future, for an entry dated after its writing day: judged with the allowance
        in force when it was written (``setting_at``, ATTACK19b K4)."""
        at = _ts(e.created_at)
        local = at.astimezone(self.tz).date() if at else None
        allow = _allowance(self.setting_at("cash_date_allowance_days", eid, self.allowance_now))
        if local is not None and e.date <= (local + allow).isoformat():
            return
        for _book, chart, _unit, holder, _comp, _side, _pu in self._touches(eid):
            if real_money(chart, holder):
                more = f" plus the {allow.days} day(s) the region allowed then" if allow.days else ""
                self.add("entry_dates", said("dated {date} but written on {local} (region time){more}: an entry that moves real money "
                                             "({chart}{value}) is dated no later than the day it is written (cash_date_future)", date=e.date, local=local, more=more, chart=chart, value=' ' + holder if holder else ''), eid)
                return

    def _requests(self) -> None:
        done: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
        for ev in sorted(self.small.get("request_event", ()), key=lambda r: int(r[0])):
            eid, rid, action, actor = ev[0], ev[1], ev[2], ev[3]
            steps = done[rid]
            if eid in self.old_events:             # written before the history (and 0018): recorded, not judged
                steps[action].append((eid, actor))
                continue
            self.checked["request_duties"] += 1
            for earlier in REQUEST_DUTIES.get(action, ()):
                took = [i for i, who in steps[earlier] if who == actor]
                if took:
                    self.add("request_duties", said("{action} (event {eid}) by {actor}, who {value} it (event {value2}): the submitter, the "
                                                    "approver, the disburser and the settler are different people (request_duties)", action=action, eid=eid, actor=actor, value=_DONE[earlier], value2=took[0]), request_id=_int(rid))
                    break
            steps[action].append((eid, actor))

    def _once(self) -> None:
        handed: dict[tuple[str, str], int] = {}
        openings: list[int] = []
        for eid in sorted(self.kinds):
            kind = self.kinds[eid]
            e = self.kept.get(eid)
            if kind == "handover_transfer" and e is not None:
                parts = e.key.split(":")
                if len(parts) >= 3:
                    handed.setdefault((parts[1], parts[2]), eid)
            elif kind == "opening" and e is not None:
                openings.append(eid)
        alive: dict[tuple[str, str, str], int] = {}
        for eid in openings:
            e = self.kept[eid]
            old = eid in self.old_entries
            self.checked["once_only"] += not old
            units = {(t[0], t[2], t[4]) for t in self._touches(eid)}
            if e.key.startswith("opening-city:"):
                for book, unit, comp in sorted(units):
                    if self.unit_kind.get(unit) != "city":
                        continue
                    prior = alive.get((book, unit, comp))
                    undone = self.reversed_by.get(prior) if prior is not None else None
                    if prior is not None and (undone is None or undone > eid) and not old:
                        self.add("once_only", said("the city proper's opening balance of book {book}{value} recorded again: entry {prior} "
                                                   "already recorded it and was not reversed (opening_once)", book=book, value=' (' + comp + ')' if comp else '', prior=prior), eid)
                    alive[(book, unit, comp)] = eid
            elif e.key.startswith("opening:"):
                for book, unit, _comp in sorted(units):
                    h = handed.get((unit, book))
                    if h is not None and h < eid and not old:
                        self.add("once_only", said("an opening balance of unit {unit}, book {book}, recorded after its handover transfer "
                                                   "(entry {h}): a handover happens once per county and book (handover_once)", unit=unit, book=book, h=h), eid)
                        break


def tee(r: Rules, read: Callable[[str], Any]) -> Callable[[str], Any]:
    """``read`` for proof.run (online or over an export), with the accounts and entries
    shown to ``r`` as they stream past the proof: no second read of either table."""
    def wrapped(table: str) -> Any:
        rows = read(table)
        if table == "account":
            return list(r.accounts(rows))
        if table == "entry":
            return r.entries(rows)
        if table == "account_day":
            return list(r.account_days(rows))
        if table == "seal":
            return r.seals(rows)
        return rows
    return wrapped
