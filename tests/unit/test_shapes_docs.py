"""The JSON keys the documentation promises are the fields of the shapes the commands
print (``ledger.core.shapes``): a field renamed, added or moved in a shape, or a key
list edited in a guide, fails here until the two agree again. No database needed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from ledger.core.budget import BudgetCheck, LineChange
from ledger.core.forecast import YearEnd
from ledger.core.shapes import Fen, as_row, field_names, money_fields, to_json
from ledger.reports.builders_final import FinalLine
from ledger.store.accounts import AccountBalance, AccountLine, TrialBalanceLine
from ledger.store.adjfund import Allocation, Remittance
from ledger.store.audit import EntrySubject, RequestSubject, TrailEvent
from ledger.store.budget import (
    BudgetAdjusted,
    BudgetInForce,
    BudgetTotals,
    BudgetVersion,
    CityBudgetBook,
    CityBudgetLine,
    CityBudgetYear,
    NamedBudgetLine,
)
from ledger.store.budget_plan import PlanImported, PlanInForce, PlanLine
from ledger.store.cycle import GovernmentPayment, InterestShare, PreallocationLine
from ledger.store.funding import Headcount
from ledger.store.imports import (
    BudgetImport,
    ImportedBudget,
    ImportedHeadcount,
    ImportResult,
    InsuredImport,
    LegacyMove,
    OpeningImport,
    Transfer,
)
from ledger.store.journal import Entry, HeldEntry, JournalLine, PostingLine, Rejection
from ledger.store.reconcile import (
    BankItem,
    BookItem,
    MatchedGroup,
    ReconcileReport,
    Reconciliation,
    StatementImport,
)
from ledger.store.registers import Clearing, RegisterItem
from ledger.store.requests import (
    FundRequest,
    RequestApproved,
    RequestEvent,
    RequestJustification,
    RequestLine,
    RequestMoved,
    RequestShown,
    RequestSubmitted,
)
from ledger.store.yearend import ClosedBook, ProvisionalLine, ShortfallLine, YearClose

DOCS = Path(__file__).resolve().parents[2] / "docs"

# (document, the words just before the key list, the shape whose fields it lists)
KEY_LISTS = [
    ("reports.md", "row keys ", TrialBalanceLine),
    ("reports.md", "`entry show --json`: ", Entry),
    ("reports.md", "each posting ", PostingLine),
    ("reports.md", "`journal --json`: a list of ", JournalLine),
    ("reports.md", "`entry reject --json`: ", Rejection),
    ("reports.md", "`account list --json`: a list of ", AccountLine),
    ("reports.md", "`balance --json`: ", AccountBalance),
    ("officers-guide.md", "`entry held --json` lists ", HeldEntry),
    ("officers-guide.md", "`preallocate --json` | list of ", PreallocationLine),
    ("officers-guide.md", "shares` (list of ", InterestShare),
    ("officers-guide.md", "`government pay --json` | list of ", GovernmentPayment),
    ("reports.md", "Final accounts rows have the keys ", FinalLine),
    ("imports.md", "`budget import` `--json`:", ImportResult),
    ("imports.md", "`handover transfer --json`: a list of ", Transfer),
    ("imports.md", "each other entry that moved money on\n  them since, a list of ", LegacyMove),
    ("imports.md", "`register list --json`: a list of ", RegisterItem),
    ("imports.md", "`register clear --json`: ", Clearing),
    ("officers-guide.md", "`request reject --json`, `request void --json` | ", FundRequest),
    ("officers-guide.md", "`events` (list of ", RequestEvent),
    ("officers-guide.md", "`justification` (", RequestJustification),
    ("officers-guide.md", "`close year --json` | ", YearClose),
    ("officers-guide.md", "`books` a list of ", ClosedBook),
    ("officers-guide.md", "`report shortfall --json` | list of ", ShortfallLine),
    ("reports.md", "JSON rows have the\nkeys ", ShortfallLine),
    ("officers-guide.md", "`adjfund remit --json` | list of ", Remittance),
    ("officers-guide.md", "`adjfund allocate --json` | list of ", Allocation),
    ("imports.md", "`insured import --json`: ", InsuredImport),
    ("imports.md", "`headcounts` a list of ", ImportedHeadcount),
    ("imports.md", "`insured show --json`: a list of ", Headcount),
    ("imports.md", "`budget import` adds `budgets`: a list of", ImportedBudget),
    ("imports.md", "`budget show --json`: a list of ", BudgetInForce),
    ("imports.md", "each budget line ", NamedBudgetLine),
    ("imports.md", "`budget adjust --json`: ", BudgetAdjusted),
    ("imports.md", "`budget history --json`: a list (oldest first) of ", BudgetVersion),
    ("imports.md", "the `changes` a list of", LineChange),
    ("imports.md", "`budget city --json`: ", CityBudgetYear),
    ("imports.md", "each city book ", CityBudgetBook),
    ("imports.md", "`lines` a list of ", CityBudgetLine),
    ("imports.md", "where totals are ", BudgetTotals),
    ("imports.md", "`budget plan import --json`: a list of ", PlanImported),
    ("imports.md", "`budget plan show --json`: a list of ", PlanInForce),
    ("imports.md", "each plan line", PlanLine),
]


def documented_keys(doc: str, anchor: str) -> list[str]:
    """The first backquoted, comma-separated list after ``anchor`` in ``doc``, without
    the parenthesised remarks inside it (``status ("posted" | "duplicate")``)."""
    text = (DOCS / doc).read_text("utf-8")
    assert anchor in text, f"{doc} no longer says {anchor!r}"
    rest = text[text.index(anchor) + len(anchor):]
    span = next(m.group(1) for m in re.finditer(r"`([^`]*)`", rest) if "," in m.group(1))
    span = re.sub(r"\([^)]*\)", "", span)
    return [k.strip() for k in span.split(",") if k.strip()]


@pytest.mark.parametrize(("doc", "anchor", "shape"), KEY_LISTS,
                         ids=[f"{d}:{s.__name__}" for d, _a, s in KEY_LISTS])
def test_documented_keys_are_the_shapes_fields(doc: str, anchor: str, shape: type) -> None:
    assert documented_keys(doc, anchor) == list(field_names(shape))


# Key lists written word by word (`a`, `b` or "a", "b"): (document, where the list starts,
# where it ends (regular expressions), the shape). Parenthesised remarks and nested lists
# are left out of the list they sit in.
WORD_LISTS = [
    ("auditors-guide.md", r"`--json` keys: ", r"`reconcile import --json`", ReconcileReport),
    ("auditors-guide.md", r"`matched` \(", r"\)", MatchedGroup),
    ("auditors-guide.md", r"`unmatched_bank` \(", r"\)", BankItem),
    ("auditors-guide.md", r"`unmatched_book`\s*\(", r"\)", BookItem),
    ("auditors-guide.md", r"`reconciliation` \(", r"\)\.", Reconciliation),
    ("auditors-guide.md", r"`reconcile import --json`: ", r"\n\n", StatementImport),
    ("auditors-guide.md", r'"events": \[\{', r"\}", TrailEvent),
    ("auditors-guide.md", r"Subject keys for an entry: ", r"; for a request", EntrySubject),
    ("auditors-guide.md", r"; for a request:", r"\n\n", RequestSubject),
    ("imports.md", r"each check ", r"\. The city", BudgetCheck),
]


def documented_words(doc: str, start: str, end: str) -> list[str]:
    text = (DOCS / doc).read_text("utf-8")
    m = re.search(start, text)
    assert m is not None, f"{doc} no longer says {start!r}"
    rest = text[m.end():]
    e = re.search(end, rest)
    assert e is not None
    span = rest[:e.start()]
    while re.search(r"\([^()]*\)", span):
        span = re.sub(r"\([^()]*\)", "", span)
    return re.findall(r'[`"](\w+)[`"]', span)


@pytest.mark.parametrize(("doc", "start", "end", "shape"), WORD_LISTS,
                         ids=[f"{d}:{s.__name__}" for d, _a, _e, s in WORD_LISTS])
def test_documented_words_are_the_shapes_fields(doc: str, start: str, end: str, shape: type) -> None:
    assert documented_words(doc, start, end) == list(field_names(shape))


def test_an_opening_import_adds_only_its_register_items() -> None:
    text = (DOCS / "imports.md").read_text("utf-8")
    added = re.search(r"`handover open` adds `(\w+)` \(count\) and `(\w+)`", text)
    assert added is not None
    assert list(field_names(OpeningImport)) == [*field_names(ImportResult), added.group(1), added.group(2)]
    added = re.search(r"`budget import` adds `(\w+)`", text)
    assert added is not None
    assert list(field_names(BudgetImport)) == [*field_names(ImportResult), added.group(1)]


# A shape that extends another: (document, the words before the keys it adds, where they
# end, the shape, the shape it extends).
ADDED_KEYS = [
    ("officers-guide.md", r"`request list --json` \| list of the request keys plus ", r" \(", RequestLine, FundRequest),
    ("officers-guide.md", r"`request submit --json` \| the request keys plus ", r"; submit adds", RequestShown,
     FundRequest),
    ("officers-guide.md", r"; submit adds ", r" \(", RequestSubmitted, RequestShown),
    ("officers-guide.md", r"`request approve --json` \| the request keys plus ", r";", RequestApproved, FundRequest),
    ("officers-guide.md", r"`settle`: the request keys plus ", r" \|", RequestMoved, FundRequest),
    ("officers-guide.md", r"covered_by_adjustment_fund`, plus ", r": true", ProvisionalLine, ShortfallLine),
]


@pytest.mark.parametrize(("doc", "start", "end", "shape", "base"), ADDED_KEYS,
                         ids=[f"{d}:{s.__name__}" for d, _a, _e, s, _b in ADDED_KEYS])
def test_documented_added_keys_extend_the_base_shape(doc: str, start: str, end: str, shape: type, base: type) -> None:
    assert issubclass(shape, base)
    assert [*field_names(base), *documented_words(doc, start, end)] == list(field_names(shape))


def test_forecast_years_example_has_the_year_end_fields() -> None:
    text = (DOCS / "reports.md").read_text("utf-8")
    m = re.search(r'"years": \[(\{[^}]*\})', text)
    assert m is not None
    assert list(json.loads(m.group(1))) == list(field_names(YearEnd))


@dataclasses.dataclass(frozen=True, slots=True)
class _Sample:
    id: int
    amount: Fen
    owed: Fen | None
    count: int
    on: dt.date
    at: dt.datetime
    raw: bytes
    tags: list[str]
    lines: tuple[PostingLine, ...] = ()


def test_money_is_known_from_the_type_alone() -> None:
    assert money_fields(_Sample) == {"amount", "owed"}
    line = PostingLine("RES:1003:230822:special", "1003", "230822", "special", "", "D", 150050, None, None,
                       "财政专户存款", "Special account deposit")
    s = _Sample(7, -5, None, 3, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5), b"\x01\xff", ["a"], (line,))
    assert to_json(s) == {"id": 7, "amount": "-0.05", "owed": None, "count": 3, "on": "2024-01-02",
                          "at": "2024-01-02T03:04:05", "raw": "01ff", "tags": ["a"],
                          "lines": [{"account": "RES:1003:230822:special", "chart_code": "1003", "unit": "230822",
                                     "holder": "special", "component": "", "side": "D", "amount": "1500.50",
                                     "line_ref": None, "memo": None, "name_zh": "财政专户存款",
                                     "name_en": "Special account deposit"}]}
    # The table renderer gets the values themselves, in field order.
    assert list(as_row(s)) == list(field_names(_Sample)) and as_row(s)["amount"] == -5


@dataclasses.dataclass(frozen=True, slots=True)
class _PerUnit:
    units: tuple[str, ...]
    by_unit: dict[str, Fen]
    counts: dict[str, int]


def test_a_mapping_of_amounts_prints_them_as_money() -> None:
    assert money_fields(_PerUnit) == {"by_unit"}
    assert to_json(_PerUnit(("230822",), {"230822": 150050, "230881": -5}, {"230822": 3})) == {
        "units": ["230822"], "by_unit": {"230822": "1500.50", "230881": "-0.05"}, "counts": {"230822": 3}}
