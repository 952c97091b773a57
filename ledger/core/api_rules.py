"""Every rule the API enforces, and the independent check that re-derives it (ATTACK7 U1a, U3).

A rule held only by a SQL function or trigger body can be suspended by a superuser for one
call and restored byte for byte; the fingerprint then sees nothing. The auditor is
protected only where the independent verdict (Python, raw rows) asks the rows whether the
rule held. This table says, for every refusal the SQL can raise (``fl.refuse('rule', …)``,
read from sql/*.sql by ledger.store.refusals) and for every check of the in-database first
pass (``verify.CHECKS`` and the others of ``verify.ORDER``), which independent check is its
twin — so that ``tests/unit/test_api_rules.py`` fails when a new rule or a new first-pass
check has none:

* ``rederived``: the twin checks recompute the rule from rows and histories in Python;
* ``constraint``: a table constraint (CHECK, UNIQUE, FOREIGN KEY) holds it, not a function
  body: the catalogue check names it while it is dropped or altered, and putting it back
  validates every row (``catalogue``);
* ``input``: it refuses the shape or size of a call, a login's own session or an
  administrator's own action; a refused call writes nothing, and what an allowed one
  writes is judged by the other rules (``twins`` empty);
* ``gap``: rows can break it and no independent check re-derives it yet. Listed, with
  what is left, in docs/auditors-guide.md; the test holds the list (``GAPS``) so that
  nothing joins it silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.core import proof, rules


@dataclass(frozen=True)
class ApiRule:
    code: str                     # fl.refuse's rule, or a first-pass check's name
    how: str                      # rederived | constraint | input | gap
    twins: tuple[str, ...]        # the independent checks that re-derive it
    what: str = ""


# The independent verdict's checks (online and offline): catalogue and settings, the proof's,
# the histories', who did what, and the API rules re-derived (ledger.core.rules).
INDEPENDENT: tuple[str, ...] = ("catalogue", "settings", *proof.CHECK_ORDER, "history_chain", "histories",
                                "record_links", "actors", "bank_refs", *rules.CHECKS)


def _r(code: str, twins: str, what: str = "") -> ApiRule:
    return ApiRule(code, "rederived", tuple(twins.split()), what)


def _c(code: str, what: str = "") -> ApiRule:
    return ApiRule(code, "constraint", ("catalogue",), what)


def _i(code: str, what: str = "") -> ApiRule:
    return ApiRule(code, "input", (), what)


def _g(code: str, what: str) -> ApiRule:
    return ApiRule(code, "gap", (), what)


RULES: tuple[ApiRule, ...] = (
    # ---- the journal --------------------------------------------------------------------
    _r("entry_balanced", "entry_balanced", "every entry balances per book, unit and component"),
    _r("entry_min_postings", "entry_balanced", "an entry has at least two postings"),
    _r("posting_account", "posting_copies"), _r("posting_entry", "posting_copies"),
    _r("posting_book", "posting_copies"), _r("posting_copy", "posting_copies"),
    _r("entry_book_fkey", "posting_copies entry_balanced", "an entry's book exists (0105: checked by fl.entry_inserted, "
       "not a foreign key): an entry has two postings or more, each on an account of its book, and an account's book "
       "is a foreign key"),
    _c("posting_side", "CHECK posting_side"), _c("posting_amount_positive", "CHECK posting_amount_positive"),
    _c("posting_amount_cap", "CHECK posting_amount_cap"), _c("bank_totals_cap", "CHECK bank_totals_cap"),
    _r("append_only", "hash_chain histories history_chain", "the journal, the history and held entries never change"),
    _r("reversed_once", "reversals"), _r("reversal_mirrors", "reversals"),
    _r("period_closed", "closed_periods"),
    _r("entry_date_range", "entry_dates", "first year .. next year; nothing before the last closed year"),
    _r("before_unit_joined", "first_days", "nothing is posted on a unit dated before its joining date "
       "(fl.unit_joined, registered with the unit), so its first day in the ledger is never before it (0154, "
       "ATTACK17b F1)"),
    _r("joined_later_after_posting", "first_days", "a joining date registered later (fl.unit_joined_later, 0167) is "
       "never after the unit's first posting: the verdict judges every posting on the unit against the date in force "
       "(the unit's latest registration), so a later date is named through the posting before it"),
    _g("joined_later_date", "a joining date registered later (0167) is on or after 1 January of the first year: held "
       "by the table's trigger; the verdict's first_days check reads no setting, so a row written with the trigger "
       "off is not named by it (the auditor reads the date and the setting side by side: fundledger unit "
       "joined-history)"),
    _c("unit_joined_later_reason", "a later joining-date registration keeps its reason (CHECK unit_joined_later_reason)"),
    _c("unit_joined_later_document", "and its document's reference (CHECK unit_joined_later_document)"),
    _r("reversal_year_closed", "entry_dates", "a year_close entry is never reversed (0082, ATTACK10 X13)"),
    _r("reversal_predates", "entry_dates", "a reversal is dated on or after the entry it reverses (0117, ATTACK15 A9)"),
    _r("approval_date", "actors", "a fund request's approval has a business date, not after the day its approve "
       "event was recorded (0126, ATTACK15 A10); not before the ledger's first year nor 1 January of the year "
       "before the request's (0133, ATTACK17 E4: that bound is a trigger's, not re-derived)"),
    _r("disburse_predates", "actors", "a disbursement is dated on or after its request's approval date and its "
       "quarter's first day (0126, ATTACK15 A10; above the rule point approval_date)"),
    _r("settle_predates", "actors", "a settlement onward is dated on or after the disbursement it settles (0126, "
       "ATTACK15 A10; above the rule point approval_date)"),
    _r("clearing_predates", "actors", "a register clearing is dated on or after its item was opened, when held and "
       "on every path (0126, ATTACK15 A10; above the rule point approval_date)"),
    _r("reversal_overclears", "actors", "a reversal undoes its entry's register clearings and never leaves an item "
       "cleared past its amount or below nothing (0091, ATTACK11 Y7; CHECK register_not_overcleared holds it too)"),
    _r("fund_balance_close_only", "workflows", "the fund balance 3xxx moves only by the close, openings and their "
       "reversals; a manual entry never against 4xxx/5xxx, nor at all once its book closed a year (0088, ATTACK11 Y3); "
       "nothing but the close against 4xxx/5xxx (an opening carries balance-sheet balances only), no reversal of a "
       "closed year's entry on 3xxx, no reversal on 3xxx that reverses nothing (0095, ATTACK13 W4)"),
    _r("shortfall_clearing_only", "workflows", "4101.shortfall (the government's shortfall receipts) is posted only "
       "by the clearing of a government-share item of its book and unit, the close and reversals (0101, ATTACK14 V4)"),
    _r("cash_date_future", "entry_dates", "real money is not dated after the region's today"),
    _r("key_namespace", "key_namespaces"),
    _r("workflow_kind", "key_namespaces officer_confinement",
       "an entry posted by hand is manual; each workflow kind is written by its own command under its namespace"),
    _r("source_reserved", "maker_checker actors", "held/made_by/confirmed_by/request in a source are the ledger's"),
    _r("idempotency_conflict", "key_namespaces", "one key, one document (UNIQUE keys; namespaces per kind)"),
    _i("idempotency_key"), _i("idempotency_race"), _i("entry_date"), _i("bad_document"), _i("post_call_size"),
    _i("not_found"), _i("reversal_reason"), _i("reason_required"),
    # ---- money never below zero ----------------------------------------------------------
    _r("no_overdraft", "no_overdraft day_balances bank_balances"),
    _r("components_separate", "components_separate"), _r("pooled_share", "pooled_shares day_balances"),
    _r("component_days", "components_separate", "a fund component's money in a physical account ends no day below "
       "zero: a unit's personal-account money by itself, the pooled money in total, by entry date (0125, ATTACK15 "
       "A6), judged for the entries above the rule's point"),
    _r("category_component", "account_rules", "an account of a book with components is carried only by the components "
       "the chart's allow-list names (0115, ATTACK15 A1; 0099, ATTACK14 V6): personal 住院/门诊/药店, 4301, 5201; pooled "
       "住院/门诊大病/门诊统筹/生育医疗/生育津贴, 4101, 4401/4402, 5301/5302; 5001.other and 5101 neither (the residents' "
       "book's); an account made before takes only reversals and the close"),
    _r("reserved_within_balance", "bank_balances"),
    # ---- maker-checker (0017, 0036, 0046, 0051, 0052) -------------------------------------
    _r("maker_checker", "maker_checker actors", "a held entry is confirmed by a second person"),
    _r("held_decided", "actors", "a held entry is decided once"),
    _r("city_confirms", "maker_checker", "an officer's manual entry on a city figure (0058: 1003 special, 1004 "
       "city_exp, 1005; 3xxx, 4xxx and, 0067, expenditure 5xxx; 0140: a county's legacy accounts), and money into "
       "any bank or cash account by hand (0064), is confirmed by the city"),
    _r("own_bank_credit", "maker_checker", "money out of a unit's own bank account (a holder not pooled) at once only "
       "by that unit's officer; anyone else's is held and confirmed by a second person (0060)"),
    _r("manual_policy", "officer_confinement", "an officer never credits 1003, 1004 city_exp, 1005 by hand"),
    _r("permission_denied", "officer_confinement maker_checker actors",
       "roles: own unit only for officers, who confirms what, who writes which kind"),
    _i("held_rejected", "a rejected key is not reused"), _i("held_open_cap", "open held entries per user"),
    _i("withdrawal_cap", "withdrawals (and an officer's rejections) per user and 24 hours (0064)"),
    _i("manual_daily_cap", "manual entries per user and region day: 2000 an officer, 10000 the city (0073); "
       "their postings: 20000 an officer, 100000 the city (0078)"),
    _i("chain_head_prepared", "fl.seal_pending names a prepared transaction holding the chain head (0083); "
       "db check fails while max_prepared_transactions > 0"),
    _i("ack_daily_cap", "monitoring acknowledgements per user and region day: 200 an officer, 1000 the city (0085)"),
    _i("request_daily_cap", "fund requests submitted per user and region day: 200 an officer, 1000 the city (0085)"),
    _i("statement_line_date", "a bank statement line is dated in the ledger's years and not after the region's "
       "today (0133, ATTACK17 E4)"),
    _i("register_opened_date", "a register item is opened in the ledger's years and not after the region's today; "
       "the local government's share at its year close's date (0153, ATTACK18 G11)"),
    _i("statement_line_ambiguous", "a statement line the file cannot tell from a stored one: its balance recurs "
       "or does not continue the line immediately before it (0173, 0174)"),
    _i("statement_line_order", "a bank statement's rows are in the bank's order, oldest first: its dates do not go "
       "back (0174)"),
    _i("statement_daily_cap", "bank statements per user and region day: 200 an officer, 1000 the city; their new "
       "lines: 50000 an officer, 500000 the city (0085)"),
    _r("entry_kind_known", "entry_writers", "an entry's kind is one a fundledger command writes (a CHECK until "
       "0090, fl.entry_stamp's since; ledger.core.entry_writers names any other)"),
    _i("entry_text_nul", "a raw fl.post_entries(text) refuses an entry whose text or key holds a NUL (\\u0000), "
       "naming the entry and field (0137, ATTACK16 C7; jsonb holds none, the entry reader refuses it first)"),
    _i("entry_json_number", "a raw fl.post_entries(text) refuses a number JSON has not (NaN, Infinity), naming it "
       "(0137, ATTACK16 C7)"),
    _i("entry_memo_size", "an entry's memo <= 8000 characters (a CHECK until 0090, fl.entry_stamp's since)"),
    _i("entry_reason_size"), _i("entry_source_size"), _i("entry_source_depth"),
    _r("import_daily_cap", "workflows", "the rows a user's imports write per region day (payments, collections and "
       "openings together): 100000 an officer, 2000000 the city (0108); budgets, insured headcounts and annual plans "
       "together: 20000 (0122) — re-derived from the batches and plans written after each rule's point"),
    _i("register_item_reference_form", "a new register item's reference is in the reference form (0089's CHECK, a "
       "trigger on INSERT since 0124: a CHECK judged the clearing of an item written under an earlier form)"),
    _i("reference_hanzi", "a new reference's 汉字 are GB2312's 6,763 simplified characters (0122, ATTACK15b B3): "
       "an import line, register item or statement line is refused at its insert; stored rows are not re-judged"),
    _i("reference_confusable", "a new reference holds none of GB2312's radicals drawn like a common character or "
       "mark (丨 like |, 丿 like /, 丶 like 、, 囗 like 口, 巛 like 川: 0134, ATTACK16b D5; "
       "ledger.io.tables.CONFUSABLE_HANZI): refused at the insert as reference_hanzi is; and (0141, ATTACK17b F4) "
       "a new reference read as a stored one holding such a radical (written before 0134; compared on "
       "fl.reference_fold) is refused naming the stored one"),
    _i("import_nothing_new", "an import batch that posted no row is refused at its commit: nothing is recorded "
       "(0089, ATTACK12 Z7)"),
    _i("pending_rejected_reason"), _i("pending_entry_memo_size"), _i("pending_entry_reason_size"),
    _i("pending_entry_source_size"), _i("pending_entry_source_depth"), _i("pending_entry_decision_reason_size"),
    # ---- fund requests (0005, 0018) -------------------------------------------------------
    _r("approver_is_not_submitter", "requests request_duties"),
    _r("request_duties", "request_duties actors", "submitter, approver, disburser, settler are different people"),
    _r("illegal_state", "requests", "the request workflow's legal moves"),
    _r("special_account_available", "bank_balances", "approved requests reserve the special account"),
    _c("approval_amount", "CHECK fund_request_check"), _i("request_reason"), _c("request_period"),
    _i("fund_request_note_size"),
    # ---- openings, handover, pre-allocation, interest, registers, adjustment fund ---------
    _r("opening_once", "once_only"), _r("handover_once", "once_only"),
    _r("opening_city_only", "workflows", "the city proper's opening posts for city units only"),
    _r("preallocation_cap", "workflows", "at most twelve months of the basis the held line recorded (budget in force or last year's spending) beyond the county's expenditure account; the basis is the books' at the hold — the budget version then in force, last year's spending, the account's postings written before it (ATTACK12 Z2, ledger.core.fund_rules)"),
    _r("preallocation_county_only", "workflows", "pre-allocations go to counties only"),
    _r("preallocation_date", "workflows", "a pre-allocation is dated in its year"),
    _r("interest_shares", "workflows", "each unit's interest share is the rule's over the total and weights its hold "
       "recorded (0079), and those weights are the end-of-day balances the hold saw: the books less whatever was "
       "written after it (ledger.core.fund_rules; ATTACK12 Z1)"),
    _r("interest_period", "workflows", "an interest period ends on or before the entry date"),
    _r("register_not_overcleared", "actors", "a register item's cleared amount is the sum of its clearings"),
    _r("register_overpaid", "workflows", "a government share is settled at most once, each clearing exactly the "
       "money its entry received for the item (ledger.core.fund_rules)"),
    _r("adjfund_cap", "workflows", "an allocation in its year: its shares are the rule's over the weights it recorded "
       "and none above the unit's recorded gap (0084), those gaps the books' at its moment, less whatever was written "
       "after it (ATTACK12 Z1); after the close each share settles its own year's item of the "
       "unit it pays, never beyond it (ledger.core.fund_rules)"),
    _r("adjfund_date", "workflows", "an allocation for a year is dated in it before its close, or after it, written "
       "after the close; a remittance is dated in its year (ledger.core.fund_rules)"), _i("adjfund_setting"),
    _i("register_item_note_size"), _i("register_item_reference_size"),
    # ---- closes ---------------------------------------------------------------------------
    _r("period_not_ended", "workflows", "a month is closed after its last day (region time)"),
    # (0123, ATTACK16 C2) a reviewer's own close refused while an earlier month holding entries is open; what an
    # allowed close writes (fl.closed_period rows, the empty months before it among them) is judged by
    # period_not_ended, and every entry dated in a closed month by closed_periods.
    _i("period_order"),
    # (0123, ATTACK16 C5) a December of a year with entries is closed by the year close, not as a month: refused
    # before anything is written; what the year close writes is judged by its own rules.
    _i("december_close"),
    _c("year_closed", "PRIMARY KEY (year, book) of fl.year_close"),
    _r("year_close_order", "workflows", "years close in order; none skipped that had benefit collections "
       "or payments"),
    _r("year_close_result", "workflows", "the close's shortfall table matches the books (daily movements less the "
       "close's own entries, the register, the allocations) and the rule, one register item per government share "
       "(ledger.core.fund_rules)"),
    _r("close_date", "workflows", "a close is dated in its year"), _c("closed_period_month"),
    _r("year_close_date", "workflows", "a year close is dated 31 December of the year it closes, the day its entries "
       "describe (0100, ATTACK14 V3; above its rule point)"),
    _i("lock_busy"), _i("read_committed"),
    # ---- accounts and reference data -----------------------------------------------------
    _c("account_book", "FOREIGN KEY"), _c("account_unit", "FOREIGN KEY"), _c("account_chart", "FOREIGN KEY"),
    _r("account_component", "account_rules", "a book's component on every account"),
    _r("account_holder", "account_rules", "a bank account's holder, allowed for its code and unit"),
    _r("account_leaf", "account_rules", "accounts only on leaf codes"),
    _r("reference_fixed", "histories", "reference data is never removed or reclassified"),
    # ---- imports, statements, budgets, monitoring -------------------------------------------
    _r("import_line_batch_id_fkey", "import_refs", "a register line's batch exists and is of its kind (a trigger, "
       "not a foreign key: ATTACK10 X4)"),
    _r("import_line_entry_id_fkey", "import_refs", "a register line's entry exists and is of its kind (a trigger, "
       "not a foreign key: ATTACK10 X4)"),
    _i("import_stage_full"),
    _r("bank_account_exists", "bank_refs", "the foreign keys to fl.bank_account, checked by a trigger that locks "
       "nothing (0063): every bank_account_id names a bank account, a line's is its statement's, an account's is "
       "its (book, holder, unit)'s (ATTACK9 W1)"),
    _i("import_batch_file_name_size"), _i("import_batch_file_sha256_form"),
    _r("recon_match", "workflows", "a match pairs lines and postings of one bank account that agree in amount"),
    _r("budget_year_closed", "workflows", "a closed year's budget is not adjusted after its close"),
    _r("year_closed_reference", "workflows", "a closed year's budget and annual plan (a first version too) and "
       "insured headcounts (once recorded: a first one after the close is taken, 0142) are final after its close, "
       "and no fund request of it is submitted or approved after the close (0143), nor its funding standard (0150) or "
       "the settings in force for it changed (0162) (ATTACK17 E6, ATTACK17b F8-F10, F9c)"),
    _i("budget_adjustment_reason"), _i("budget_adjustment_lines"), _i("plan_granularity"), _i("plan_rows"),
    _r("ack_role", "workflows", "a warning is acknowledged by the unit's officer or the city; a red one by the city only"),
    _r("unit_scope", "workflows", "an officer acknowledges its own unit's warnings"),
    _r("ack_date", "workflows", "an acknowledgement is not dated after the region's day it was recorded"),
    _r("ack_since", "workflows", "a warning's start is a month end or the acknowledgement day (not re-derived: that "
       "the unit had figures by then)"),
    _i("ack_level"), _i("ack_decision"),
    # ---- users and sessions ---------------------------------------------------------------
    _r("session_impersonated", "actors settings", "the writer's login is who a row names"),
    _r("session_replica", "settings catalogue", "no session switches the ledger's triggers off"),
    _i("user_exists"), _i("user_name"), _i("user_privileged"), _i("user_role_taken"), _i("user_unknown"),
    _c("officer_has_unit", "CHECK officer_has_unit"), _i("bad_role"), _i("not_yourself"), _i("connection_limit"),
    _i("scram_only"),
)

# The first pass's checks (ledger.store.verify.ORDER) and their independent twins.
FIRST_PASS: dict[str, tuple[str, ...]] = {
    "entry_balanced": ("entry_balanced",), "posting_copies": ("posting_copies",), "vouchers": ("vouchers",),
    "account_balances": ("account_balances",), "account_days": ("account_days",),
    "bank_balances": ("bank_balances",), "no_overdraft": ("no_overdraft",), "day_balances": ("day_balances",),
    "components_separate": ("components_separate",), "closed_periods": ("closed_periods",),
    "reversals": ("reversals",), "held_entries": ("maker_checker", "actors", "workflows"),
    "entry_writers": ("entry_writers",), "bank_refs": ("bank_refs",),
    "requests": ("requests", "request_duties"), "history_chain": ("history_chain",), "histories": ("histories",),
    "record_links": ("record_links",), "hash_chain": ("hash_chain",),
}

GAPS = frozenset(r.code for r in RULES if r.how == "gap")


def by_code() -> dict[str, ApiRule]:
    return {r.code: r for r in RULES}
