"""ATTACK7 U1a's parity and U3's table: every rule the API enforces, and every check of the
in-database first pass, names its independent twin (ledger.core.api_rules) — and the rules
re-derived in Python (ledger.core.rules) judge hand-made rows as the API would."""

from __future__ import annotations

from ledger.core import api_rules, rules
from ledger.store import refusals, verify

# Rules no independent check re-derives yet: each is named in docs/auditors-guide.md. A rule
# joins this list only by editing it here and there, never silently.
KNOWN_GAPS: frozenset[str] = frozenset({"joined_later_date"})  # 0167: the trigger's first_year bound


def test_every_sql_refusal_has_a_row_in_the_table() -> None:
    table = api_rules.by_code()
    missing = sorted(refusals.rules() - {""} - set(table))
    assert not missing, f"rules the SQL enforces with no row in ledger/core/api_rules.py: {missing}"
    stale = sorted(set(table) - refusals.rules())
    assert not stale, f"rows for rules the SQL no longer raises: {stale}"
    assert len(table) == len(api_rules.RULES), "a rule listed twice"


def test_every_row_names_independent_twins_that_exist() -> None:
    for r in api_rules.RULES:
        assert r.how in ("rederived", "constraint", "input", "gap"), r
        if r.how in ("rederived", "constraint"):
            assert r.twins, f"{r.code}: {r.how} but no twin"
        else:
            assert not r.twins, r
        unknown = set(r.twins) - set(api_rules.INDEPENDENT)
        assert not unknown, f"{r.code}: twin(s) {unknown} are not checks of the independent verdict"


def test_gaps_are_the_documented_ones() -> None:
    assert api_rules.GAPS == KNOWN_GAPS
    guide = (__import__("pathlib").Path(__file__).parents[2] / "docs" / "auditors-guide.md").read_text()
    for code in sorted(KNOWN_GAPS):
        assert f"`{code}`" in guide, f"{code} is a gap but docs/auditors-guide.md does not name it"


def test_every_first_pass_check_has_an_independent_twin() -> None:
    first = set(verify.ORDER)
    assert set(api_rules.FIRST_PASS) == first, (
        f"first-pass checks with no independent twin: {sorted(first - set(api_rules.FIRST_PASS))}")
    for name, twins in api_rules.FIRST_PASS.items():
        assert twins and set(twins) <= set(api_rules.INDEPENDENT), name


def test_the_rules_checks_are_independent_checks_with_words() -> None:
    from ledger.i18n import CODES

    for name in rules.CHECKS:
        assert name in api_rules.INDEPENDENT and name in rules.DESCRIPTIONS and name in CODES


# ---- the rules over hand-made rows ------------------------------------------------------------

ACCOUNTS = [  # id, book, chart, unit, holder, component, bank, balance, debits, credits
    ["1", "RES", "1003", "230822", "special", "", "1", "0", "0", "0"],
    ["2", "RES", "5001.other", "230822", "", "", "", "0", "0", "0"],
    ["3", "RES", "1101", "230822", "", "", "", "0", "0", "0"],
    ["4", "RES", "2001", "230822", "", "", "", "0", "0", "0"],
    ["5", "RES", "1101", "230881", "", "", "", "0", "0", "0"],
]
SMALL = {
    "app_user": [["rev", "reviewer", ""], ["rev2", "reviewer", ""], ["fin", "finance", ""], ["o22", "officer", "230822"]],
    "unit": [["230800", "city"], ["230822", "county"], ["230881", "county"]],
    "setting": [["first_year", "2021"], ["region", '{"time_zone": "Asia/Shanghai"}'],
                ["cash_date_allowance_days", "0"]],
    "year_close": [["2023", "RES", "2024-01-20 08:00:00+00"]],
    "pending_entry": [], "request_event": [],
}


def _entry(eid: int, key: str, kind: str, by: str, date: str = "2024-02-01", at: str = "2024-02-02 02:00:00+00",
           source: str = "", reverses: str = "") -> list[str]:
    return [str(eid), "RES", date, key, reverses, kind, "", by, "\\x00", "", source, at, "", "1"]


def _judge(entries: list[list[str]], postings: list[list[str]], **small: list[list[str]]) -> dict[str, list[str]]:
    r = rules.Rules({**SMALL, **small})
    list(r.accounts(ACCOUNTS))
    list(r.entries(entries))
    r.postings(postings)
    return {c.name: [f.message for f in c.findings] for c in r.finish()}


def _legs(eid: int, *legs: tuple[str, str]) -> list[list[str]]:
    return [[str(eid * 10 + i), str(eid), a, s, "100", "2024-02-01", ACCOUNTS[int(a) - 1][3], "", ""]
            for i, (a, s) in enumerate(legs)]


def test_a_manual_entry_on_the_special_account_needs_a_confirmed_held_entry() -> None:
    e = _entry(7, "manual:rev:x", "manual", "rev")
    found = _judge([e], _legs(7, ("2", "D"), ("1", "C")))
    assert any("without a second person" in m for m in found["maker_checker"])
    held = [["3", "manual", "RES", "manual:rev:x", "", "{230822}", "rev", "reviewer", "", "confirmed", "rev2", "7"]]
    assert _judge([e], _legs(7, ("2", "D"), ("1", "C")), pending_entry=held)["maker_checker"] == []
    # a temporary payment moves no money: posted at once, no second person needed
    t = _entry(8, "manual:rev:t", "manual", "rev")
    assert _judge([t], _legs(8, ("3", "D"), ("4", "C")))["maker_checker"] == []


def test_request_duties_from_the_events() -> None:
    ev = [["1", "9", "submit", "o22", ""], ["2", "9", "approve", "rev", ""], ["3", "9", "disburse", "fin", ""],
          ["4", "9", "settle", "rev", ""]]
    found = _judge([], [], request_event=ev)["request_duties"]
    assert len(found) == 1 and "settle (event 4) by rev, who approved it (event 2)" in found[0]
    ev[3][3] = "rev2"
    assert _judge([], [], request_event=ev)["request_duties"] == []


def test_officer_confinement_namespaces_and_dates() -> None:
    es = [_entry(1, "manual:o22:a", "manual", "o22"), _entry(2, "manual:rev:b", "manual", "o22"),
          _entry(3, "collections:x", "collections", "o22"), _entry(4, "manual:rev:c", "manual", "rev", date="2022-05-01"),
          _entry(5, "manual:rev:d", "manual", "rev", date="2019-05-01", at="2021-01-01 00:00:00+00")]
    found = _judge(es, _legs(1, ("5", "D"), ("4", "C")) + _legs(2, ("3", "D"), ("4", "C")))
    conf = " | ".join(found["officer_confinement"])
    assert "posts for unit 230881" in conf and "a collections entry written by o22" in conf
    assert any("not filed under manual:o22:" in m for m in found["key_namespaces"])
    dates = " | ".join(found["entry_dates"])
    assert "closed year 2023" in dates and "before the region's first year 2021" in dates


def test_rows_written_before_the_history_are_legacy_and_a_late_backfill_is_not() -> None:
    versions = [["1", "fl.entry", "BACKFILL", '{"id": 1}'], ["2", "fl.request_event", "BACKFILL", '{"id": 4}'],
                ["3", "fl.entry", "INSERT", '{"id": 2}'],
                ["9", "fl.entry", "BACKFILL", '{"id": 7}']]        # appended by a forger after the first INSERT
    legacy = rules.legacy_ids(versions)
    assert legacy == {"fl.entry": {1}, "fl.request_event": {4}}
    old, new = _entry(1, "demo-interest-1", "interest", "fin"), _entry(7, "demo-interest-7", "interest", "fin")
    r = rules.Rules(SMALL, legacy=legacy)
    list(r.accounts(ACCOUNTS))
    list(r.entries([old, new]))
    found = {c.name: c.findings for c in r.finish()}
    assert {f.entry_id for f in found["key_namespaces"]} == {7}
    assert {f.entry_id for f in found["maker_checker"]} == {7}


def test_a_county_opening_after_its_handover_transfer() -> None:
    ho = _entry(5, "handover-transfer:230822:RES:-", "handover_transfer", "rev")
    before = _entry(3, "opening:230822:HN-1", "opening", "rev", source='{"held": 1, "made_by": "rev", '
                    '"confirmed_by": "fin"}')
    after = _entry(9, "opening:230822:HN-2", "opening", "rev", source='{"held": 2, "made_by": "rev", '
                   '"confirmed_by": "fin"}')
    held = [[str(i), "opening", "RES", k, "", "{230822}", "rev", "reviewer", "", "confirmed", "fin", str(e)]
            for i, k, e in ((1, "opening:230822:HN-1", 3), (2, "opening:230822:HN-2", 9))]
    found = _judge([before, ho, after], _legs(3, ("1", "D"), ("4", "C")) + _legs(9, ("1", "D"), ("4", "C")),
                   pending_entry=held)
    assert found["maker_checker"] == []
    assert len(found["once_only"]) == 1 and "after its handover transfer (entry 5)" in found["once_only"][0]
