"""What 0066 changed in a payments import (sql/0066_import_speed.sql, issue 24), held to
the behaviour an auditor relies on: the batch digest is still the one the verifiers
recompute from ``to_jsonb`` (the line's text is now printed by concatenation), each
entry still gets its history versions (its row with its credit, its debits' memos), the
register is still consulted wherever it holds a unit's references, and the categories
resolved per group name the same problems."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.helpers import collect, entry, leg, post
from tests.integration.test_tamper_records import _both, _verify

pytestmark = pytest.mark.db

HEADER = "date,unit,book,provider,category,amount,reference,component,paid_from"
# References and providers a CSV file may carry that JSON must escape (quote, backslash,
# tab), or that are not ASCII.
# A reference may not hold a tab (ATTACK12 Z3: only the ordinary space); the provider (memo) does.
# A reference is ASCII, 汉字 (U+20000 is four bytes of UTF-8) and the punctuation of document
# numbers (ATTACK14 V1, 0098).
AWKWARD = ['Q"1', "B\\2", "T 3", "中文-4", "〔中\u9fa0〕-5", "</x>-6"]  # (0122: GB2312's last 汉字, U+9FA0)


def _csv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\t') else v

    path.write_text("\n".join([HEADER, *(",".join(cell(c) for c in r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def _fund_city(ledger_db, unit: str = "230800", yuan: str = "50000.00") -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect(f"speed-col-{unit}", "2023-02-01", unit, yuan),
         entry(f"speed-move-{unit}", "2023-02-01", "RES", leg("1004", unit, "D", yuan, "city_exp"),
               leg("1003", unit, "C", yuan, "special")))
    fin.commit()


def test_the_line_text_is_what_to_jsonb_prints(ledger_db):
    """fl._import_line_text prints a line exactly as to_jsonb(line)::text does, on values
    JSON escapes (quotes, backslashes, every control character), any Unicode, NULLs and
    extreme numbers, under either bytea_output: the batch digest is unchanged."""
    admin = ledger_db.admin()
    bad = admin.execute(r"""
        SELECT count(*) AS n, count(*) FILTER (WHERE to_jsonb(x)::text IS DISTINCT FROM
               fl._import_line_text(x.row_no, x.batch_id, x.entry_id, x.namespace, x.reference, x.content_hash)) AS bad
          FROM (SELECT ROW(ns, ref, h, e, b, r)::fl.import_line AS l
                  FROM (VALUES ('payments:230800:bureau'), (E'n"s\\'), (NULL)) ns(ns)
                 CROSS JOIN (SELECT 'a' || chr(i) || 'b' FROM generate_series(1, 160) i
                             UNION ALL VALUES ('中文'), ('😀'), (E'\u2028'), (''), (NULL)) rf(ref)
                 CROSS JOIN (VALUES ('\x00ff'::bytea), (''::bytea), (NULL)) h(h)
                 CROSS JOIN (VALUES (NULL::bigint), (9223372036854775807)) e(e)
                 CROSS JOIN (VALUES (1::bigint), (NULL)) b(b)
                 CROSS JOIN (VALUES (-2147483648), (2)) r(r)) y, LATERAL (SELECT (y.l).*) x""").fetchone()
    assert bad["n"] > 10_000 and bad["bad"] == 0, bad
    admin.execute("SET bytea_output = 'escape'")
    row = admin.execute(r"""SELECT to_jsonb(x)::text AS a, fl._import_line_text(x.row_no, x.batch_id, x.entry_id,
                                   x.namespace, x.reference, x.content_hash) AS b
                              FROM (SELECT ROW('ns', 'r', '\x00ff'::bytea, 1, 2, 3)::fl.import_line AS l) y,
                                   LATERAL (SELECT (y.l).*) x""").fetchone()
    assert row["a"] == row["b"], row


def test_a_payments_import_records_its_batch_and_its_entries(ledger_db, tmp_path):
    """A bureau's payments from the city expenditure account post at once: the batch's
    digest is the verifiers' (hashlib over each line's to_jsonb text, in line order),
    each entry has its versions (its row, written with its credit, then its debits'
    memos: two statements, as 0055 records them), its credit is its first posting,
    categories are read case-insensitively, and the ledger verifies."""
    _fund_city(ledger_db)
    rows = [("2023-02-03", "230800", "RES", f"医院\t{i}", cat, f"{10 + i}.25", ref, "", "city")
            for i, (ref, cat) in enumerate(zip(AWKWARD, ["inpatient", "Outpatient", "CHRONIC", "pharmacy",
                                                         "inpatient", "other"], strict=True))]
    rows.append(("2023-02-04", "230800", "RES", "医院 x", "inpatient", "1.00", "plain-7", "", "city"))
    r = ledger_db.cli("pay", "import", str(_csv(tmp_path / "p.csv", rows)), "--json", user="rev")
    assert r.exit_code == 0, r
    assert (r.json()["rows_posted"], r.json()["entries"], r.json()["rows_held"]) == (7, 2, 0)
    admin = ledger_db.admin()
    batch = int(admin.execute("SELECT max(batch_id) AS b FROM fl.import_line").fetchone()["b"])
    lines = admin.execute("SELECT to_jsonb(l)::text AS t FROM fl.import_line l WHERE batch_id = %s "
                          "ORDER BY row_no, namespace COLLATE \"C\", reference COLLATE \"C\"", (batch,)).fetchall()
    want = hashlib.sha256(b"".join(hashlib.sha256(x["t"].encode()).digest() for x in lines)).hexdigest()
    got = admin.execute("SELECT row_data FROM fl.record_log WHERE tbl = 'fl.import_line' "
                        "AND row_key = jsonb_build_object('batch_id', %s::bigint)", (batch,)).fetchall()
    assert [g["row_data"] for g in got] == [{"batch_id": batch, "lines": 7, "digest": want}]
    ids = [e["id"] for e in admin.execute("SELECT id FROM fl.entry WHERE kind = 'payments' ORDER BY id").fetchall()]
    assert len(ids) == 2
    for eid in ids:
        versions = admin.execute(
            "SELECT tbl, row_data FROM fl.record_log WHERE (tbl = 'fl.entry' AND row_key = jsonb_build_object('id', %s::bigint))"
            " OR (tbl = 'fl.posting' AND row_key = jsonb_build_object('entry_id', %s::bigint))", (eid, eid)).fetchall()
        assert sorted(v["tbl"] for v in versions) == ["fl.entry", "fl.posting"], versions
        memos = admin.execute("SELECT id::text AS id, memo FROM fl.posting WHERE entry_id = %s AND memo IS NOT NULL",
                              (eid,)).fetchall()
        recorded = next(v["row_data"]["memos"] for v in versions if v["tbl"] == "fl.posting")
        assert recorded == {m["id"]: m["memo"] for m in memos} and memos
        first = admin.execute("SELECT side FROM fl.posting WHERE entry_id = %s ORDER BY id LIMIT 1", (eid,)).fetchone()
        assert first["side"] == "C"
    cats = admin.execute("SELECT a.chart_code, p.line_ref FROM fl.posting p JOIN fl.account a ON a.id = p.account_id "
                         "WHERE p.side = 'D' ORDER BY p.line_ref").fetchall()
    assert {c["line_ref"]: c["chart_code"] for c in cats}["T 3"] == "5001.chronic"
    assert {c["line_ref"]: c["chart_code"] for c in cats}["B\\2"] == "5001.outpatient"
    v = _verify(ledger_db)
    assert v["ok"] is True, _both(v)


def test_the_register_is_read_wherever_it_holds_the_units_references(ledger_db, tmp_path):
    """A unit's first file is not looked up in the register (it holds none of its
    references); its next file is: the same rows are skipped, a changed row is a conflict,
    and a file mixing a known unit and a new one is judged row by row."""
    _fund_city(ledger_db, "230800")
    _fund_city(ledger_db, "230822", "1000.00")
    first = [("2023-02-03", "230800", "RES", "医院", "inpatient", "5.00", f"R-{i}", "", "city") for i in range(3)]
    assert ledger_db.cli("pay", "import", str(_csv(tmp_path / "a.csv", first)), user="rev").exit_code == 0
    again = ledger_db.cli("pay", "import", str(_csv(tmp_path / "a.csv", first)), "--json", user="rev")
    assert again.exit_code == 0 and (again.json()["rows_posted"], again.json()["rows_skipped"]) == (0, 3), again
    mixed = [*first[:2], ("2023-02-03", "230822", "RES", "医院", "inpatient", "5.00", "R-0", "", "city")]
    r = ledger_db.cli("pay", "import", str(_csv(tmp_path / "b.csv", mixed)), "--json", user="rev")
    assert r.exit_code == 0 and (r.json()["rows_posted"], r.json()["rows_skipped"]) == (1, 2), r
    changed = [("2023-02-03", "230800", "RES", "医院", "inpatient", "6.00", "R-2", "", "city")]
    refused = ledger_db.cli("--lang", "en", "pay", "import", str(_csv(tmp_path / "c.csv", changed)), user="rev")
    assert refused.exit_code == 1 and "already imported" in refused.stderr and "R-2" in refused.stderr, refused


def test_an_unknown_category_is_named_with_its_row(ledger_db, tmp_path):
    """Categories are resolved per group of identical texts, case-insensitively, and a row
    whose category is unknown (or empty) is still named by row, nothing written."""
    _fund_city(ledger_db)
    rows = [("2023-02-03", "230800", "RES", "医院", "Inpatient", "5.00", "C-1", "", "city"),
            ("2023-02-03", "230800", "RES", "医院", "surgery", "5.00", "C-2", "", "city"),
            ("2023-02-03", "230800", "RES", "医院", "", "5.00", "C-3", "", "city")]
    r = ledger_db.cli("--lang", "en", "pay", "import", str(_csv(tmp_path / "d.csv", rows)), user="rev")
    assert r.exit_code == 1, r
    assert "row 3" in r.stderr and "unknown category 'surgery'" in r.stderr and "row 4" in r.stderr, r.stderr
    assert "row 2," not in r.stderr
    assert int(ledger_db.admin().execute("SELECT count(*) AS n FROM fl.import_line").fetchone()["n"]) == 0


def _digest(admin, batch: int) -> str:
    """The batch digest as the verifiers recompute it: hashlib over each line's to_jsonb
    text, in line order (row_no, then namespace and reference byte-wise)."""
    lines = admin.execute("SELECT to_jsonb(l)::text AS t FROM fl.import_line l WHERE batch_id = %s "
                          "ORDER BY row_no, namespace COLLATE \"C\", reference COLLATE \"C\"", (batch,)).fetchall()
    return hashlib.sha256(b"".join(hashlib.sha256(x["t"].encode()).digest() for x in lines)).hexdigest()


def test_lines_out_of_key_order_keep_the_verifiers_digest(ledger_db, tmp_path):
    """(0075) The register is written in the file's order, not sorted by key: a file whose
    references run backwards and whose units interleave still records the digest the
    verifiers recompute in line order, and the ledger verifies."""
    _fund_city(ledger_db, "230800")
    _fund_city(ledger_db, "230822", "1000.00")
    rows = [("2023-02-03", ("230800", "230822")[i % 2], "RES", f"医院 {i}", "inpatient", "1.00", f"Z-{9 - i}-{ref}",
             "", "city") for i, ref in enumerate(["b", "a", "中", "B", "0", "~", "a", "〖"])]
    r = ledger_db.cli("pay", "import", str(_csv(tmp_path / "z.csv", rows)), "--json", user="rev")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 8, r
    admin = ledger_db.admin()
    batch = int(admin.execute("SELECT max(batch_id) AS b FROM fl.import_line").fetchone()["b"])
    got = admin.execute("SELECT row_data FROM fl.record_log WHERE tbl = 'fl.import_line' "
                        "AND row_key = jsonb_build_object('batch_id', %s::bigint)", (batch,)).fetchall()
    assert [g["row_data"] for g in got] == [{"batch_id": batch, "lines": 8, "digest": _digest(admin, batch)}]
    v = _verify(ledger_db)
    assert v["ok"] is True, _both(v)


def test_a_batch_recorded_before_is_digested_from_all_its_lines(ledger_db, tmp_path):
    """(0075) Only a statement's own new batches are digested from its rows alone: a line
    added by raw SQL to a batch already recorded gets a version digesting all the batch's
    lines, the register read as before."""
    _fund_city(ledger_db)
    rows = [("2023-02-03", "230800", "RES", "医院", "inpatient", "2.00", f"A-{i}", "", "city") for i in range(3)]
    assert ledger_db.cli("pay", "import", str(_csv(tmp_path / "a.csv", rows)), user="rev").exit_code == 0
    admin = ledger_db.admin()
    line = admin.execute("SELECT * FROM fl.import_line WHERE reference = 'A-0'").fetchone()
    admin.execute("INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no) "
                  "VALUES (%s, 'A-late', %s, %s, %s, 99)",
                  (line["namespace"], line["content_hash"], line["entry_id"], line["batch_id"]))
    admin.commit()
    got = admin.execute("SELECT row_data FROM fl.record_log WHERE tbl = 'fl.import_line' "
                        "AND row_key = jsonb_build_object('batch_id', %s::bigint) ORDER BY id",
                        (line["batch_id"],)).fetchall()
    assert [g["row_data"]["lines"] for g in got] == [3, 4], got
    assert got[-1]["row_data"]["digest"] == _digest(admin, line["batch_id"])
