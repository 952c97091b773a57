"""Collections and payments imports through the real CLI: all-or-nothing refusals with
row and column, row-level idempotency (duplicate and growing files), conflicts, officers'
units, no overdraft, and XLSX = CSV. Fixtures: tests/integration/data/*.csv."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledger.core.money import parse_fen
from tests.helpers import confirm_payments, entry, leg, post

pytestmark = pytest.mark.db

DATA = Path(__file__).parent / "data"


def balance(db, book: str, code: str, unit: str, holder: str = "", component: str = "") -> int:
    row = db.admin().execute(
        "SELECT balance FROM fl.account WHERE book = %s AND chart_code = %s AND unit = %s AND holder = %s AND component = %s",
        (book, code, unit, holder, component)).fetchone()
    return 0 if row is None else int(row["balance"])


def count(db, table: str) -> int:
    return int(db.admin().execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"])


def fen(yuan: str) -> int:
    return parse_fen(yuan)


def write_csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def fund_expenditure_accounts(db) -> None:
    """Pre-allocation-like transfers so the expenditure accounts hold money to pay from."""
    fin = db.connect("fin")
    post(fin,
         entry("fund-hn-res", "2023-02-01", "RES", leg("1004", "230822", "D", "20000.00", "county_exp"),
               leg("1003", "230822", "C", "20000.00", "special")),
         entry("fund-hn-emp-p", "2023-02-01", "EMP", leg("1004", "230822", "D", "5000.00", "county_exp", "pooled"),
               leg("1003", "230822", "C", "5000.00", "special", "pooled")),
         entry("fund-hn-emp-q", "2023-02-01", "EMP", leg("1004", "230822", "D", "500.00", "county_exp", "personal"),
               leg("1003", "230822", "C", "500.00", "special", "personal")),
         entry("fund-city", "2023-02-01", "RES", leg("1004", "230800", "D", "30000.00", "city_exp"),
               leg("1003", "230800", "C", "30000.00", "special")))
    fin.commit()


COLLECTIONS_BALANCES = {
    ("RES", "1003", "230822", "special", ""): fen("800000.00"),
    ("RES", "4001", "230822", "", ""): -fen("500000.00"),
    ("RES", "4101.central", "230822", "", ""): -fen("300000.00"),
    ("EMP", "1003", "230822", "special", "pooled"): fen("200000.00"),
    ("EMP", "4001", "230822", "", "personal"): -fen("100000.00"),
    ("RES", "4101.county", "230881", "", ""): -fen("50000.00"),
    ("RES", "4001", "230800", "", ""): -fen("800000.00"),
}


def test_collections_then_payments_post_once_and_growing_file_posts_only_new_rows(ledger_db):
    r = ledger_db.cli("collect", "import", str(DATA / "collections.csv"), "--json", user="fin")
    assert r.exit_code == 0, r
    assert {k: r.json()[k] for k in ("rows_total", "rows_posted", "rows_skipped", "entries")} == \
        {"rows_total": 6, "rows_posted": 6, "rows_skipped": 0, "entries": 6}
    for key, want in COLLECTIONS_BALANCES.items():
        assert balance(ledger_db, *key) == want, key

    again = ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin")
    assert again.exit_code == 0, again
    # (ATTACK12 Z7) a re-run writes nothing and records nothing: no batch
    assert "nothing new to import: 6 row(s) were already imported and 0 are new" in again.stdout
    assert count(ledger_db, "fl.entry") == 6

    fund_expenditure_accounts(ledger_db)
    before = count(ledger_db, "fl.entry")
    r = ledger_db.cli("pay", "import", str(DATA / "payments.csv"), user="rev")
    assert r.exit_code == 0, r
    # (0060, ATTACK7 U11) The bureau's rows paid from the county's account are held for finance.
    assert "posted 1 rows in 1 entries, held 6 rows paid from a county's expenditure account in 4 held entries" \
        in r.stdout.replace("\n", " "), r.stdout
    assert count(ledger_db, "fl.entry") == before + 1
    assert len(confirm_payments(ledger_db)) == 4
    assert count(ledger_db, "fl.entry") == before + 5
    assert balance(ledger_db, "RES", "5001.inpatient", "230822") == fen("12000.00")
    assert balance(ledger_db, "RES", "5001.outpatient", "230822") == fen("800.50")
    assert balance(ledger_db, "RES", "5001.other", "230822") == fen("99.99")
    assert balance(ledger_db, "RES", "5101", "230822") == fen("5000.00")
    assert balance(ledger_db, "EMP", "5001.inpatient", "230822", component="pooled") == fen("3000.00")
    assert balance(ledger_db, "EMP", "5001.pharmacy", "230822", component="personal") == fen("150.00")
    assert balance(ledger_db, "RES", "1004", "230822", "county_exp") == fen("20000.00") - fen("17900.49")
    assert balance(ledger_db, "RES", "1004", "230800", "city_exp") == fen("30000.00") - fen("20000.00")
    # One entry per (date, unit, book, component, paid_from): a debit per row (line_ref =
    # the row's reference, memo = provider) and one credit for the total.
    posted = ledger_db.admin().execute(
        """SELECT a.chart_code, a.holder, p.side, p.amount, p.line_ref, p.memo FROM fl.posting p
             JOIN fl.account a ON a.id = p.account_id JOIN fl.entry e ON e.id = p.entry_id
            WHERE e.entry_date = '2023-02-03' AND e.kind = 'payments' ORDER BY p.side DESC, p.line_ref""").fetchall()
    assert [(p["chart_code"], p["side"], p["amount"], p["line_ref"]) for p in posted] == [
        ("5001.inpatient", "D", fen("12000.00"), "HN-P-001"), ("5001.outpatient", "D", fen("800.50"), "HN-P-002"),
        ("5001.other", "D", fen("99.99"), "HN-P-003"), ("1004", "C", fen("12900.49"), None)]
    assert posted[2]["memo"] == "药店, 东街" and posted[3]["holder"] == "county_exp"

    same = ledger_db.cli("pay", "import", str(DATA / "payments.csv"), "--json", user="rev")
    assert same.exit_code == 0 and same.json()["rows_posted"] == 0 and same.json()["rows_skipped"] == 7
    assert same.json()["batch_id"] is None
    # The county's row paid from the city account pays out of the county's own share of it
    # (money disbursed for it, not yet settled: 0030): without one it is refused.
    refused = ledger_db.cli("pay", "import", str(DATA / "payments_more.csv"), user="rev")
    assert refused.exit_code == 1 and "[pooled_share]" in refused.stderr, refused
    post(ledger_db.connect("fin"), entry("in-transit-hn", "2023-02-01", "RES",
                                         leg("1004", "230822", "D", "500.00", "city_exp"),
                                         leg("1003", "230822", "C", "500.00", "special")))
    grown = ledger_db.cli("pay", "import", str(DATA / "payments_more.csv"), "--json", user="rev")
    assert grown.exit_code == 0, grown
    assert {k: grown.json()[k] for k in ("rows_total", "rows_posted", "rows_skipped", "entries", "rows_held")} == \
        {"rows_total": 9, "rows_posted": 2, "rows_skipped": 7, "entries": 1, "rows_held": 1}
    assert len(grown.json()["held"]) == 1 and len(confirm_payments(ledger_db)) == 1
    assert balance(ledger_db, "RES", "5001.chronic", "230822") == fen("300.00")   # paid_from city
    assert balance(ledger_db, "RES", "1004", "230822", "city_exp") == fen("200.00")   # the county's share of it
    assert count(ledger_db, "fl.entry") == before + 8
    assert count(ledger_db, "fl.import_line") == 6 + 9
    batches = ledger_db.admin().execute(
        "SELECT kind, rows_total, rows_posted, rows_skipped, entries, imported_by FROM fl.import_batch ORDER BY id").fetchall()
    # (ATTACK12 Z7) the re-runs that wrote nothing recorded no batch
    assert [(b["kind"], b["rows_posted"], b["rows_skipped"], b["imported_by"]) for b in batches] == [
        ("collections", 6, 0, "fin"), ("payments", 7, 0, "rev"), ("payments", 2, 7, "rev")]


def test_reference_reused_with_other_content_refuses_the_whole_file(ledger_db, tmp_path):
    assert ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin").exit_code == 0
    before = count(ledger_db, "fl.entry")
    f = write_csv(tmp_path / "changed.csv", "date,unit,book,source,amount,reference,component",
                  "2023-01-30,230822,RES,contribution,10.00,HN-C-NEW,",
                  "2023-01-10,230822,RES,contribution,\"500,000.01\",HN-C-001,")
    r = ledger_db.cli("collect", "import", str(f), user="fin")
    assert r.exit_code == 1
    assert "[idempotency_conflict]" in r.stderr
    assert "changed.csv: row 3, column reference: reference 'HN-C-001' was already imported" in r.stderr
    assert "collections.csv, row 2" in r.stderr   # where it was first imported
    assert count(ledger_db, "fl.entry") == before
    assert count(ledger_db, "fl.import_batch") == 1


def test_every_bad_row_is_listed_and_nothing_is_written(ledger_db, tmp_path):
    assert ledger_db.cli("close", "period", "2022-12", user="rev").exit_code == 0
    f = write_csv(
        tmp_path / "bad.csv", "date,unit,book,source,amount,reference,component",
        "2023-01-10,230822,RES,contribution,100.00,R1,",        # 2 good
        "2023-01-10,999999,RES,contribution,100.00,R2,",        # 3 unknown unit
        "2023-01-10,230822,XXX,contribution,100.00,R3,",        # 4 unknown book
        "2023-01-10,230822,RES,bonus,100.00,R4,",               # 5 unknown source
        "2023-02-30,230822,RES,contribution,100.00,R5,",        # 6 impossible date
        "05/01/2023,230822,RES,contribution,100.00,R6,",        # 7 bad date (2023/01/05 is a date now)
        "2023-01-10,230822,RES,contribution,12.345,R7,",        # 8 three decimals
        "2023-01-10,230822,RES,contribution,-5.00,R8,",         # 9 negative
        "2023-01-10,230822,RES,contribution,0.00,R9,",          # 10 zero
        "2023-01-10,230822,RES,contribution,,R10,",             # 11 blank
        "2023-01-10,230822,RES,contribution,abc,R11,",          # 12 not a number
        "2023-01-10,230822,RES,contribution,100.00,R1,",        # 13 duplicate reference
        "2023-01-10,230822,EMP,contribution,100.00,R13,",       # 14 EMP without component
        "2023-01-10,230822,RES,contribution,100.00,R14,pooled",  # 15 RES with a component
        "2023-01-10,230822,EMP,subsidy_city,100.00,R15,personal",  # 16 subsidy to personal accounts
        "2022-12-15,230822,RES,contribution,100.00,R16,",       # 17 closed period
        "2023-01-10,230822,RES,contribution,100.00,,",          # 18 no reference
    )
    r = ledger_db.cli("collect", "import", str(f), user="fin")
    assert r.exit_code == 1, r
    assert "[bad_file]" in r.stderr and "nothing written" in r.stderr
    expected = [
        (3, "unit", "unknown unit '999999'"), (4, "book", "unknown book 'XXX'"), (5, "source", "unknown source 'bonus'"),
        (6, "date", "'2023-02-30' is not a real date"), (7, "date", "'05/01/2023' is not a date"),
        (8, "amount", "'12.345' has more than two decimals"), (9, "amount", "'-5.00' is negative"),
        (10, "amount", "'0.00' is zero"), (11, "amount", "the amount is empty"),
        (12, "amount", "'abc' is not an amount"), (13, "reference", "reference 'R1' is used again (first on row 2)"),
        (14, "component", "book EMP needs a component (pooled or personal)"),
        (15, "component", "book RES has no components"),
        (16, "component", "fiscal subsidies (4101) go wholly to the pooled fund"),
        (17, "date", "2022-12-15 falls in the closed period 2022-12"),
        (18, "reference", "the reference is empty"),
    ]
    text = " ".join(r.stderr.split())
    for row, col, reason in expected:
        assert f"bad.csv: row {row}, column {col}: {reason}" in text, (row, col, text)
    assert "row 2," not in text
    assert f"({len(expected)} problem(s))" in text
    assert count(ledger_db, "fl.entry") == 0
    assert count(ledger_db, "fl.import_batch") == 0 and count(ledger_db, "fl.import_line") == 0

    p = write_csv(
        tmp_path / "badpay.csv", "date,unit,book,provider,category,amount,reference,component,paid_from",
        "2023-02-01,230822,RES,医院,surgery,1.00,P1,,",          # 2 unknown category
        "2023-02-01,230822,RES,医院,inpatient,1.00,P2,,bank",     # 3 unknown paid_from
        "2023-02-01,230800,RES,医院,inpatient,1.00,P3,,county",   # 4 the city has no county account
        "2023-02-01,230822,RES,,inpatient,1.00,P4,,",            # 5 no provider
        "2023-02-31,230822,RES,医院,inpatient,1.00,P5,,",         # 6 impossible date
        "2023-02-01,230822,RES,医院,inpatient,1.00,P1,,",         # 7 duplicate reference
    )
    r = ledger_db.cli("pay", "import", str(p), user="rev")
    assert r.exit_code == 1
    text = " ".join(r.stderr.split())
    for row, col, reason in [(2, "category", "unknown category 'surgery'"), (3, "paid_from", "unknown paid_from 'bank'"),
                             (4, "paid_from", "unit 230800 is not a county"), (5, "provider", "the provider is empty"),
                             (6, "date", "'2023-02-31' is not a real date"),
                             (7, "reference", "reference 'P1' is used again (first on row 2)")]:
        assert f"badpay.csv: row {row}, column {col}: {reason}" in text, (row, text)
    assert count(ledger_db, "fl.entry") == 0


def test_officer_imports_only_own_unit(ledger_db, tmp_path):
    # Collections are finance's (or the bureau's) record of the special account (0039, ATTACK5 S1):
    # an officer's file is refused whole, its own unit's rows too.
    r = ledger_db.cli("--lang", "en", "collect", "import", str(DATA / "collections.csv"), user="o22")
    assert r.exit_code == 1
    assert "[permission_denied]" in r.stderr and "import collections and subsidies" in r.stderr, r.stderr
    assert count(ledger_db, "fl.entry") == 0
    # Payments: its own unit's rows only.
    pay = write_csv(tmp_path / "pay.csv", "date,unit,book,provider,category,amount,reference,component,paid_from",
                    "2023-01-10,230822,RES,x,inpatient,1.00,HN-OWN-1,,county",
                    "2023-01-10,230881,RES,x,inpatient,1.00,TJ-1,,county")
    r = ledger_db.cli("--lang", "en", "pay", "import", str(pay), user="o22")
    assert r.exit_code == 1 and "[permission_denied]" in r.stderr
    text = " ".join(r.stderr.split())
    assert "pay.csv: row 3, column unit: o22 is an officer of unit 230822 and may not import rows of unit 230881" in text
    assert "row 2," not in text
    own = write_csv(tmp_path / "own.csv", "date,unit,book,source,amount,reference",
                    "2023-01-10,230822,RES,contribution,100.00,HN-OWN-1")
    r = ledger_db.cli("collect", "import", str(own), user="fin")
    assert r.exit_code == 0, r
    assert balance(ledger_db, "RES", "4001", "230822") == -fen("100.00")
    # Auditors write nothing.
    r = ledger_db.cli("pay", "import", str(DATA / "payments.csv"), user="aud")
    assert r.exit_code == 1 and "[permission_denied]" in r.stderr


def test_payments_need_money_in_the_expenditure_account(ledger_db, tmp_path):
    r = ledger_db.cli("pay", "import", str(DATA / "payments.csv"), user="rev")
    assert r.exit_code == 1
    # The city proper's row paid from the city account: refused before anything is written
    # (its share of the pooled account holds nothing; 0030).
    assert "[pooled_share]" in r.stderr
    text = " ".join(r.stderr.split())
    assert "payments.csv: refused, nothing written" in text
    assert "unit 230800's share of the City fund expenditure account (RES) holds 0.00" in text
    assert count(ledger_db, "fl.entry") == 0 and count(ledger_db, "fl.import_line") == 0
    # The county's own expenditure account: overdrawn.
    county = write_csv(tmp_path / "county.csv", "date,unit,book,provider,category,amount,reference,component,paid_from",
                       "2023-02-03,230822,RES,桦南县人民医院,inpatient,12000.00,HN-P-001,,")
    # (0060) The county's own officer pays from it at once (the bureau's row would be held).
    r = ledger_db.cli("pay", "import", str(county), user="o22")
    assert r.exit_code == 1 and "[no_overdraft]" in r.stderr, r
    text = " ".join(r.stderr.split())
    assert "county.csv: refused, nothing written" in text
    assert "expenditure account" in text and "would be overdrawn" in text
    assert count(ledger_db, "fl.entry") == 0 and count(ledger_db, "fl.import_line") == 0


def test_xlsx_import_equals_csv(ledger_db, tmp_path):
    """The same rows as XLSX (numbers as numbers, dates as dates) post the same content:
    importing the CSV afterwards finds every row already posted with identical content."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    lines = (DATA / "collections.csv").read_text("utf-8").splitlines()
    import csv

    for i, cells in enumerate(csv.reader(lines)):
        if i == 0:
            ws.append(cells)
            continue
        date, unit, book, source, amount, ref, comp = cells
        ws.append([dt.date.fromisoformat(date), int(unit), book, source, float(amount.replace(",", "")), ref,
                   comp or None])
    xlsx = tmp_path / "collections.xlsx"
    wb.save(xlsx)
    r = ledger_db.cli("collect", "import", str(xlsx), "--json", user="fin")
    assert r.exit_code == 0, r
    assert r.json()["rows_posted"] == 6
    for key, want in COLLECTIONS_BALANCES.items():
        assert balance(ledger_db, *key) == want, key
    r = ledger_db.cli("collect", "import", str(DATA / "collections.csv"), "--json", user="fin")
    assert r.exit_code == 0, r
    assert (r.json()["rows_posted"], r.json()["rows_skipped"]) == (0, 6)


def test_payment_row_changed_after_import_is_a_conflict_and_a_rerun_posts_nothing_twice(ledger_db, tmp_path):
    """(0060: the county's own officer imports, so its rows post at once.) The register keeps one row per imported payment line: a rerun of a grown file
    posts only the new rows, a row whose content changed (here its amount, then its
    provider) is refused naming where it was first imported, and nothing is written."""
    assert ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin").exit_code == 0
    fund_expenditure_accounts(ledger_db)
    header = "date,unit,book,provider,category,amount,reference,component,paid_from"
    rows = ["2023-02-03,230822,RES,医院甲,inpatient,100.00,X-1,,", "2023-02-03,230822,RES,医院乙,outpatient,20.50,X-2,,"]
    first = write_csv(tmp_path / "first.csv", header, *rows)
    r = ledger_db.cli("pay", "import", str(first), "--json", user="o22")
    assert r.exit_code == 0 and (r.json()["rows_posted"], r.json()["entries"]) == (2, 1), r
    grown = write_csv(tmp_path / "grown.csv", header, *rows, "2023-02-03,230822,RES,医院乙,outpatient,1.00,X-3,,")
    r = ledger_db.cli("pay", "import", str(grown), "--json", user="o22")
    assert r.exit_code == 0 and (r.json()["rows_posted"], r.json()["rows_skipped"]) == (1, 2), r
    entries, postings = count(ledger_db, "fl.entry"), count(ledger_db, "fl.posting")
    for changed in ("2023-02-03,230822,RES,医院甲,inpatient,100.01,X-1,,", "2023-02-03,230822,RES,医院丙,inpatient,100.00,X-1,,"):
        f = write_csv(tmp_path / "changed.csv", header, changed, "2023-02-03,230822,RES,医院乙,outpatient,5.00,X-4,,")
        r = ledger_db.cli("pay", "import", str(f), user="o22")
        assert r.exit_code == 1 and "[idempotency_conflict]" in r.stderr, r
        text = " ".join(r.stderr.split())
        assert "changed.csv: row 2, column reference: reference 'X-1' was already imported" in text
        assert "first.csv, row 2" in text
    assert (count(ledger_db, "fl.entry"), count(ledger_db, "fl.posting")) == (entries, postings)
    lines = ledger_db.admin().execute(
        """SELECT l.reference, p.amount FROM fl.import_line l
             JOIN fl.posting p ON p.entry_id = l.entry_id AND p.line_ref = l.reference
            WHERE l.namespace LIKE 'payments:%' ORDER BY l.reference""").fetchall()
    assert [(x["reference"], x["amount"]) for x in lines] == [("X-1", 10000), ("X-2", 2050), ("X-3", 100)]


def test_fast_amount_path_gives_the_full_grammars_value(ledger_db):
    """fl.imp_fen_of (the import's fast path for 1234.56-shaped amounts) equals the full
    grammar, fl.imp_fen(fl.imp_amount_num(t)), on edge cases and on seeded random text."""
    import random

    rnd = random.Random(11)
    cases = ["1234.56", "1.00", "10.10", "0.50", "007.50", "01.00", "1,234.56", "12.345", "-5.00", "0.00", "1.5",
             "1.", ".50", "", " 1.00", "1.00 ", "１.00", "999999999999999.99", "9999999999999999.99",
             "99999999999999999.99", "90000000000000000.00", "1e3.00"]
    cases += ["".join(rnd.choice("0123456789.,-") for _ in range(rnd.randint(1, 21))) for _ in range(3000)]
    rows = ledger_db.admin().execute(
        """SELECT t, fl.imp_fen_of(t) AS fast, fl.imp_fen(fl.imp_amount_num(t)) AS full
             FROM unnest(%s::text[]) AS t""", (cases,)).fetchall()
    assert [r["t"] for r in rows if r["fast"] != r["full"] or (r["fast"] is None) != (r["full"] is None)] == []
    by_text = {r["t"]: r["fast"] for r in rows}
    assert (by_text["1234.56"], by_text["0.50"], by_text["007.50"], by_text["0.00"]) == (123456, 50, None, None)


def test_payments_reference_used_twice(ledger_db, tmp_path):
    """A repeated reference among new rows is found by the register's key as the register
    is written, and the whole import is undone; among rows already imported, before."""
    assert ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin").exit_code == 0
    fund_expenditure_accounts(ledger_db)
    entries = count(ledger_db, "fl.entry")
    header = "date,unit,book,provider,category,amount,reference"
    p = write_csv(tmp_path / "dup.csv", header,
                  "2023-02-03,230822,RES,医院,inpatient,1.00,D1",
                  "2023-02-03,230822,RES,医院,inpatient,2.00,D2",
                  "2023-02-04,230822,RES,药店,pharmacy,3.00,D1")
    r = ledger_db.cli("pay", "import", str(p), user="o22")
    assert r.exit_code == 1, r
    text = " ".join(r.stderr.split())
    assert "dup.csv: row 4, column reference: reference 'D1' is used again (first on row 2)" in text
    assert "(1 problem(s))" in text
    assert count(ledger_db, "fl.entry") == entries
    assert count(ledger_db, "fl.import_line WHERE namespace LIKE 'payments:%'") == 0
    assert count(ledger_db, "fl.import_batch WHERE kind = 'payments'") == 0

    ok = write_csv(tmp_path / "ok.csv", header, "2023-02-03,230822,RES,医院,inpatient,1.00,D1")
    assert ledger_db.cli("pay", "import", str(ok), user="o22").exit_code == 0
    again = write_csv(tmp_path / "again.csv", header,
                      "2023-02-03,230822,RES,医院,inpatient,1.00,D1",
                      "2023-02-03,230822,RES,医院,inpatient,1.00,D1")
    r = ledger_db.cli("pay", "import", str(again), user="o22")
    assert r.exit_code == 1, r
    assert "again.csv: row 3, column reference: reference 'D1' is used again (first on row 2)" in " ".join(r.stderr.split())
    assert count(ledger_db, "fl.import_line WHERE namespace LIKE 'payments:%'") == 1
