"""Files as a Chinese finance office's Excel writes them (issue 18): GB18030 "CSV",
UTF-8-with-BOM "CSV UTF-8", XLSX with date cells and serial numbers, Chinese headers, an
extra 备注 column, units by name. Each is accepted with the same postings as the plain
file (importing the plain file afterwards skips every row: the normalised content is
identical); each bad variant is refused naming file, row, column and the valid values.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.integration.test_imports import COLLECTIONS_BALANCES, DATA, balance

pytestmark = pytest.mark.db

# DATA/collections.csv, row for row, as a county office types it.
ZH_HEADER = ["日期", "单位名称", "险种", "来源", "金额", "业务编号", "基金类型", "备注"]
ROWS = [
    ("2023/1/10", "桦南县", "RES", "征缴收入", "500,000.00", "HN-C-001", "", "一月征缴"),
    ("2023-1-15", "230822", "res", "中央财政补助", "300000.00", "HN-C-002", "", ""),
    ("2023年1月20日", "桦南县", "EMP", "contribution", "200000.00", "HN-C-003", "统筹", ""),
    ("2023/01/20", "Huanan", "EMP", "contribution", "100000.00", "HN-C-004", "个人账户", "补缴"),
    ("2023/1/25", "同江市", "RES", "subsidy_county", "50000.00", "TJ-C-001", "", ""),
    ("2023/1/28", "市本级", "RES", "contribution", "800000.00", "CITY-C-001", "", ""),
]


def _csv_text(rows: list[tuple[str, ...]] = ROWS, header: list[str] = ZH_HEADER) -> str:
    lines = [",".join(header)] + [",".join(f'"{c}"' if "," in c else c for c in r) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def gb18030_csv(path: Path) -> Path:
    """Excel "CSV (逗号分隔)" in a Chinese locale: GB18030 bytes, CRLF, no BOM."""
    path.write_bytes(_csv_text().encode("gb18030"))
    return path


def utf8_bom_csv(path: Path) -> Path:
    """Excel "CSV UTF-8 (逗号分隔)": a BOM, then UTF-8."""
    path.write_bytes(b"\xef\xbb\xbf" + _csv_text().encode("utf-8"))
    return path


def xlsx(path: Path) -> Path:
    """A workbook as Excel saves it: real date cells (one a date-time, one a bare serial
    number in a General cell), numbers as numbers, Chinese headers, a 备注 column."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(ZH_HEADER)
    dates: list[object] = [dt.date(2023, 1, 10), dt.datetime(2023, 1, 15, 0, 0), dt.date(2023, 1, 20),
                           44946, dt.date(2023, 1, 25), "2023/1/28"]   # 44946 = 2023-01-20 as a serial
    amounts: list[object] = [500000, 300000.0, 200000, "100,000.00", 50000, 800000]
    for d, a, r in zip(dates, amounts, ROWS, strict=True):
        ws.append([d, r[1], r[2], r[3], a, r[5], r[6], r[7]])
    for cell in ws["A"][1:4]:
        cell.number_format = "yyyy/m/d"
    wb.save(path)
    return path


VARIANTS = {"gb18030.csv": gb18030_csv, "utf8-bom.csv": utf8_bom_csv, "excel.xlsx": xlsx}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_an_excel_file_posts_what_the_plain_file_posts(ledger_db, tmp_path, name):
    path = VARIANTS[name](tmp_path / name)
    r = ledger_db.cli("collect", "import", str(path), "--json", user="fin")
    assert r.exit_code == 0, r
    out = r.json()
    assert (out["rows_posted"], out["entries"]) == (6, 6)
    assert any("备注" in n and "ignored" in n for n in out["notices"])   # collections have no note column
    assert any("GB18030" in n for n in out["notices"]) == (name == "gb18030.csv")
    assert "notice: column(s) H '备注' ignored" in r.stderr
    for key, want in COLLECTIONS_BALANCES.items():
        assert balance(ledger_db, *key) == want, key
    plain = ledger_db.cli("collect", "import", str(DATA / "collections.csv"), "--json", user="fin")
    assert plain.exit_code == 0, plain
    assert (plain.json()["rows_posted"], plain.json()["rows_skipped"]) == (0, 6)   # same content, row for row
    assert plain.json()["notices"] == []


def test_a_note_column_is_kept_where_the_format_has_one(ledger_db, tmp_path):
    text = (DATA / "opening.csv").read_text(encoding="utf-8").splitlines()
    header = "单位,账套,项目,金额,凭证号,备注,组成"
    rows = [line.replace("230822,", "桦南县,", 1) for line in text[1:]]
    path = tmp_path / "opening-zh.csv"
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("gb18030"))
    r = ledger_db.cli("handover", "open", str(path), "--date", "2023-01-01", "--json", user="rev")
    assert r.exit_code == 0, r
    notes = ledger_db.admin().execute(
        "SELECT reference, note FROM fl.register_item WHERE unit = '230822' ORDER BY reference").fetchall()
    assert [(n["reference"], n["note"]) for n in notes] == [
        ("HN-REG-1", "2022年县级配套未到位"), ("HN-REG-2", "某企业欠缴"), ("HN-REG-3", "欠付县医院")]
    plain = ledger_db.cli("handover", "open", str(DATA / "opening.csv"), "--date", "2023-01-01", "--json", user="rev")
    assert plain.exit_code == 0, plain
    assert plain.json()["rows_posted"] == 0 and plain.json()["rows_skipped"] == plain.json()["rows_total"]


BAD = {
    # row (as Excel shows it), column, what the message must say
    "unit": (("2023/1/10", "桦南", "RES", "contribution", "1.00", "B-1", "", ""), "unit",
             ["unknown unit '桦南'", "230822 桦南县", "230800 市本级", "230881 同江市"]),
    "book": (("2023/1/10", "桦南县", "职工", "contribution", "1.00", "B-1", "", ""), "book",
             ["unknown book '职工'", "RES ", "EMP "]),
    "source": (("2023/1/10", "桦南县", "RES", "捐赠", "1.00", "B-1", "", ""), "source",
               ["unknown source '捐赠'", "contribution", "subsidy_central"]),
    "date": (("2023/13/45", "桦南县", "RES", "contribution", "1.00", "B-1", "", ""), "date",
             ["2023-13-45", "not a real date"]),
    "date-text": (("15.4.2023x", "桦南县", "RES", "contribution", "1.00", "B-1", "", ""), "date",
                  ["'15.4.2023x' is not a date", "2024年4月15日"]),
    "component": (("2023/1/20", "桦南县", "EMP", "contribution", "1.00", "B-1", "养老", ""), "component",
                  ["'养老'", "pooled", "personal"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_variant_is_refused_naming_file_row_column_and_valid_values(ledger_db, tmp_path, case):
    bad, column, phrases = BAD[case]
    path = tmp_path / f"bad-{case}.csv"
    path.write_bytes(_csv_text([ROWS[0], bad]).encode("gb18030"))
    r = ledger_db.cli("collect", "import", str(path), user="fin")
    assert r.exit_code == 1, r
    line = next((ln for ln in r.stderr.splitlines() if f"row 3, column {column}:" in ln), "")
    assert str(path) in line, r.stderr
    for phrase in phrases:
        assert phrase in line, (phrase, line)
    assert "row 2" not in r.stderr
    assert int(ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]) == 0


def test_five_thousand_bad_dates_say_five_thousand_and_list_the_first_200(ledger_db, tmp_path):
    rows = [f"2023-02-30,230822,RES,contribution,1.00,D-{i}" for i in range(5000)]
    path = tmp_path / "dates.csv"
    path.write_text("\n".join(["date,unit,book,source,amount,reference", *rows]) + "\n", encoding="utf-8")
    r = ledger_db.cli("collect", "import", str(path), user="fin")
    assert r.exit_code == 1
    assert "refused, nothing written (5,000 problem(s))" in r.stderr
    assert r.stderr.count("'2023-02-30' is not a real date") == 200
    assert "… and 4,800 more not listed (the first 200 are above)" in r.stderr


def test_the_trial_balance_workbook_names_units_not_account_keys(ledger_db, tmp_path):
    from openpyxl import load_workbook

    assert ledger_db.cli("collect", "import", str(gb18030_csv(tmp_path / "c.csv")), user="fin").exit_code == 0
    r = ledger_db.cli("report", "trial-balance", "--year", "2023", "--lang", "zh", "--xlsx", str(tmp_path / "tb.xlsx"),
                      user="aud")
    assert r.exit_code == 0, r
    ws = load_workbook(tmp_path / "tb.xlsx")["城乡居民基本医疗保险基金"]
    assert ws["A3"].value == "账户"
    shown = {ws.cell(row=i, column=1).value for i in range(5, ws.max_row + 1)}
    assert {"桦南县 1003 市财政专户", "桦南县 4001", "同江市 4101.county"} <= shown
    assert not any(":" in str(v) for v in shown if v)   # no RES:1003:230822:special keys
