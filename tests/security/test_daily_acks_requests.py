"""0085 (ATTACK10 X15): monitoring acknowledgements and fund requests per user and region day.

Each is a row kept and chained for ever (read by every verify, carried by every export), and a
request waits in the bureau's queue: one login appending thousands is refused at a bound no real
office meets (200 a day for an officer, 1,000 for the city), counted in 0073's counter row for the
region's day. The acknowledgement day's bound is the region's day, not the session's. Bank statements (swept:
an officer imports its own unit's) are bounded the same way, statements and new lines.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from cli.errors import localise
from ledger.store.translate import translate
from tests.conftest import LedgerDB
from tests.helpers import reclass

pytestmark = pytest.mark.db


def _counter(db: LedgerDB, user: str) -> tuple[int, int] | None:
    r = db.admin().execute("SELECT acks, requests FROM fl.manual_day WHERE user_name = %s AND day = fl._region_today()",
                           (user,)).fetchone()
    return None if r is None else (int(r["acks"]), int(r["requests"]))


def _statements(db: LedgerDB, user: str) -> tuple[int, int]:
    r = db.admin().execute("SELECT statements, statement_lines FROM fl.manual_day WHERE user_name = %s "
                           "AND day = fl._region_today()", (user,)).fetchone()
    assert r is not None
    return int(r["statements"]), int(r["statement_lines"])


def _set_counter(db: LedgerDB, user: str, acks: int, requests: int) -> None:
    """Put ``user``'s region day at the given counts (the counter is a guard, not a record): the
    boundary without writing a thousand rows first."""
    db.admin().execute("INSERT INTO fl.manual_day (user_name, day, n, acks, requests) "
                       "VALUES (%s, fl._region_today(), 0, %s, %s) ON CONFLICT (user_name, day) "
                       "DO UPDATE SET acks = EXCLUDED.acks, requests = EXCLUDED.requests", (user, acks, requests))


def _figure(db: LedgerDB) -> None:
    """A figure of 230822 in RES (an acknowledgement needs the unit to have figures by then)."""
    db.connect("o22", autocommit=True).execute(
        "SELECT * FROM fl.post_entries(%s::jsonb)",
        (json.dumps([reclass("ackcap-fig", "2024-01-05", "230822", "1.00")]),)).fetchall()


def _ack(c: psycopg.Connection, key: str, decision: str = "watch the month's payouts") -> str:
    return str(c.execute("SELECT status FROM fl.monitor_acknowledge('230822', 'RES', 'yellow', '2024-01-31', "
                         "'2024-02-01', %s, %s)", (decision, key)).fetchone()["status"])  # type: ignore[index]


def _request(c: psycopg.Connection, key: str, unit: str = "230822") -> str:
    return str(c.execute("SELECT status FROM fl.request_submit(%s, 'RES', '', 2024, 1, 100, 'Q1 payouts', %s)",
                         (unit, key)).fetchone()["status"])  # type: ignore[index]


@pytest.mark.parametrize(("user", "cap"), [("o22", 200), ("rev", 1000), ("fin", 1000)])
def test_acknowledgements_are_capped_per_role_at_the_boundary(ledger_db: LedgerDB, user: str, cap: int) -> None:
    """The acknowledgement that reaches the cap is recorded; the next is refused whole (nothing
    written, the increment rolled back); a key already there is answered 'duplicate', uncounted."""
    _figure(ledger_db)
    c = ledger_db.connect(user, autocommit=True)
    _set_counter(ledger_db, user, cap - 1, 0)
    assert _ack(c, f"ackcap-{user}-at") == "recorded"
    assert _counter(ledger_db, user) == (cap, 0)
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
        _ack(c, f"ackcap-{user}-past")
    assert e.value.diag.constraint_name == "ack_daily_cap" and f"at most {cap} a day" in str(e.value), e.value
    assert _counter(ledger_db, user) == (cap, 0)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.monitor_ack WHERE idempotency_key = %s",
                                     (f"ackcap-{user}-past",)).fetchone()["n"] == 0  # type: ignore[index]
    assert _ack(c, f"ackcap-{user}-at") == "duplicate"          # a re-sent acknowledgement still answers
    assert _counter(ledger_db, user) == (cap, 0)


@pytest.mark.parametrize(("user", "cap"), [("o22", 200), ("rev", 1000)])
def test_fund_requests_are_capped_per_role_at_the_boundary(ledger_db: LedgerDB, user: str, cap: int) -> None:
    c = ledger_db.connect(user, autocommit=True)
    _set_counter(ledger_db, user, 0, cap - 1)
    assert _request(c, f"reqcap-{user}-at") == "submitted"
    assert _counter(ledger_db, user) == (0, cap)
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
        _request(c, f"reqcap-{user}-past")
    assert e.value.diag.constraint_name == "request_daily_cap" and f"at most {cap} a day" in str(e.value), e.value
    assert _counter(ledger_db, user) == (0, cap)
    n = ledger_db.admin().execute("SELECT (SELECT count(*) FROM fl.fund_request WHERE idempotency_key = %s) "
                                  "+ (SELECT count(*) FROM fl.request_event ev JOIN fl.fund_request r "
                                  "ON r.id = ev.request_id WHERE r.idempotency_key = %s) AS n",
                                  (f"reqcap-{user}-past",) * 2).fetchone()
    assert n["n"] == 0  # type: ignore[index]
    assert c.execute("SELECT status FROM fl.request_submit('230822', 'RES', '', 2024, 1, 100, 'Q1 payouts', %s)",
                     (f"reqcap-{user}-at",)).fetchone()["status"] == "duplicate"  # type: ignore[index]
    assert _counter(ledger_db, user) == (0, cap)


def test_one_officers_cap_leaves_others_and_the_next_day_free(ledger_db: LedgerDB) -> None:
    """The counter is the caller's own: o22 at its cap does not stop another officer or the city
    bureau, and its next region day starts at zero."""
    _figure(ledger_db)
    _set_counter(ledger_db, "o22", 200, 200)
    o22 = ledger_db.connect("o22", autocommit=True)
    for f in (lambda: _ack(o22, "ackcap-o22-full"), lambda: _request(o22, "reqcap-o22-full")):
        with pytest.raises(psycopg.errors.ProgramLimitExceeded):
            f()
    assert _request(ledger_db.connect("o81", autocommit=True), "reqcap-o81", unit="230881") == "submitted"
    rev = ledger_db.connect("rev", autocommit=True)
    assert _ack(rev, "ackcap-rev-for-o22") == "recorded" and _request(rev, "reqcap-rev-for-o22") == "submitted"
    ledger_db.next_region_day("o22")
    assert _ack(o22, "ackcap-o22-full") == "recorded" and _request(o22, "reqcap-o22-full") == "submitted"
    assert _counter(ledger_db, "o22") == (1, 1)


def test_the_caps_say_what_to_do_in_chinese_first(ledger_db: LedgerDB) -> None:
    """Each refusal is typed and rendered Chinese first: how many, tomorrow in the region's time,
    or the city bureau (and city finance, for an acknowledgement). The request through the CLI
    edge; the acknowledgement through the same translation (the CLI's ack first asks the monitor
    for a live warning, which a one-entry ledger has not)."""
    _figure(ledger_db)
    _set_counter(ledger_db, "o22", 200, 200)
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
        _ack(ledger_db.connect("o22", autocommit=True), "ackcap-zh")
    err = translate(e.value)
    assert getattr(err, "rule", None) == "ack_daily_cap", err
    text = localise(str(err), "ack_daily_cap", "zh")
    assert "监测预警确认" in text and "明天" in text and "市医保局" in text and "市财政" in text, text
    r = ledger_db.cli("--lang", "zh", "request", "submit", "--book", "RES", "--year", "2024", "--quarter", "1",
                      "--amount", "1.00", "--key", "reqcap-cli", user="o22")
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1 and "[request_daily_cap]" in text and "资金申请" in text and "明天" in text \
        and "市医保局" in text, r
    assert "Traceback" not in r.stderr


def test_the_acknowledgement_day_is_bounded_by_the_regions_day(ledger_db: LedgerDB) -> None:
    """A writer's own TimeZone does not move the bound: the region's today is accepted from a
    session twelve hours behind UTC, the region's tomorrow refused from one fourteen ahead."""
    _figure(ledger_db)
    behind = ledger_db.connect("o22", autocommit=True)
    behind.execute("SET TimeZone = 'Etc/GMT+12'")
    today = ledger_db.admin().execute("SELECT fl._region_today() AS d").fetchone()["d"]  # type: ignore[index]
    assert behind.execute("SELECT status FROM fl.monitor_acknowledge('230822', 'RES', 'yellow', %s, %s, 'watch', "
                          "'ackday-today')", (today, today)).fetchone()["status"] == "recorded"  # type: ignore[index]
    ahead = ledger_db.connect("o22", autocommit=True)
    ahead.execute("SET TimeZone = 'Pacific/Kiritimati'")
    with pytest.raises(psycopg.Error) as e:
        ahead.execute("SELECT fl.monitor_acknowledge('230822', 'RES', 'yellow', %s::date + 1, %s::date + 1, 'watch', "
                      "'ackday-tomorrow')", (today, today)).fetchall()
    assert e.value.diag.constraint_name == "ack_date", e.value


def _lines(*refs: str) -> str:
    return json.dumps([{"row": i + 2, "date": "2024-03-10", "direction": "in", "amount": 100, "reference": r,
                        "balance": None} for i, r in enumerate(refs)])


def _statement(c: psycopg.Connection, lines: str) -> int:
    return int(c.execute("SELECT lines_new FROM fl.import_statement('RES', 'county_exp', '230822', 's.csv', %s, "
                         "%s::jsonb)", ("ab" * 32, lines)).fetchone()["lines_new"])  # type: ignore[index]


def test_bank_statements_and_their_new_lines_are_capped_per_region_day(ledger_db: LedgerDB) -> None:
    """An officer's statements (each a chained row, even when all its lines were there) and their
    new lines (chained, and unmatched in every reconciliation) are bounded per region day: 200
    statements, 50,000 new lines. A statement imported again adds a statement and no lines; the
    refused one is rolled back whole (its lines, its increment)."""
    o22 = ledger_db.connect("o22", autocommit=True)
    _set_counter(ledger_db, "o22", 0, 0)
    ledger_db.admin().execute("UPDATE fl.manual_day SET statements = 197, statement_lines = 49998 "
                              "WHERE user_name = 'o22' AND day = fl._region_today()")
    assert _statement(o22, _lines("S1", "S2")) == 2
    assert _statements(ledger_db, "o22") == (198, 50000)
    assert _statement(o22, _lines("S1", "S2")) == 0                 # again: a statement, no new line
    assert _statements(ledger_db, "o22") == (199, 50000)
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
        _statement(o22, _lines("S3"))
    assert e.value.diag.constraint_name == "statement_daily_cap" and "new bank statement lines" in str(e.value)
    assert _statement(o22, _lines("S2")) == 0                       # the 200th statement, nothing new
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
        _statement(o22, _lines("S1"))
    assert e.value.diag.constraint_name == "statement_daily_cap" and "at most 200 a day" in str(e.value)
    assert _statements(ledger_db, "o22") == (200, 50000)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.statement_line WHERE reference = 'S3'"
                                     ).fetchone()["n"] == 0  # type: ignore[index]
    fin = ledger_db.connect("fin", autocommit=True)                 # the city imports it instead
    assert int(fin.execute("SELECT lines_new FROM fl.import_statement('RES', 'county_exp', '230822', 's.csv', %s, "
                           "%s::jsonb)", ("ab" * 32, _lines("S3"))).fetchone()["lines_new"]) == 1  # type: ignore[index]
    err = translate(e.value)
    text = localise(str(err), "statement_daily_cap", "zh")
    assert "银行对账单" in text and "明天" in text and "市财政" in text, text
