"""One vocabulary, and commands that say why (issue 17): an officer's unit from the login,
a rejected request shows its reason, a balance on its normal side with Dr/Cr, pre-allocation
without a budget says what to do, close year --year (the old form still works, with a
note), interest allocate --from/--to."""

from __future__ import annotations

import pytest

from tests.helpers import collect, post
from tests.integration._cycle import add_budget

pytestmark = pytest.mark.db


def _ok(r):  # type: ignore[no-untyped-def]
    assert r.exit_code == 0, r
    return r


def test_officer_unit_reason_balance_and_hints(ledger_db):
    cli = ledger_db.cli
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", "230822", "1000000.00"))
    fin.commit()

    # No budget yet: pre-allocation says why nothing is to be posted, and what to do.
    hint = _ok(cli("preallocate", "--year", "2024", "--date", "2024-01-05", "--dry-run", user="rev"))
    assert "no budget for 2024 has been imported" in hint.stdout and "budget import" in hint.stdout
    zh = _ok(cli("preallocate", "--year", "2024", "--date", "2024-01-05", "--dry-run", user="rev",
                 env={"FUNDLEDGER_LANG": "zh", "COLUMNS": "80"}))
    assert "尚未导入 2024 年预算" in zh.stdout

    add_budget(ledger_db.admin(), 2024, "230822", "RES", {"5001": "2400000.00", "4001": "2000000.00"})
    # An officer's unit comes from the login: no --unit to type.
    r = _ok(cli("request", "submit", "--book", "RES", "--year", "2024", "--quarter", "1", "--amount", "1000.00",
                "--json", user="o22")).json()
    assert r["unit"] == "230822"
    refused = cli("request", "submit", "--book", "RES", "--year", "2024", "--quarter", "1", "--amount", "1.00",
                  user="rev")
    assert refused.exit_code == 1 and "--unit is required" in refused.stderr, refused

    # A rejected request shows why, in the list.
    _ok(cli("request", "reject", str(r["id"]), "--reason", "covered by pre-allocation", user="rev"))
    listed = _ok(cli("request", "list", "--year", "2024", user="o22"))
    assert "covered by pre-allocation" in listed.stdout and "rejected" in listed.stdout
    zh_list = _ok(cli("request", "list", "--year", "2024", user="o22", env={"FUNDLEDGER_LANG": "zh", "COLUMNS": "80"}))
    assert "covered by pre-allocation" in zh_list.stdout and "已驳回" in zh_list.stdout
    assert "2024年第1季度" in zh_list.stdout and "Q1" not in zh_list.stdout   # the quarter in words, not Q1

    # A balance on the account's normal side: revenue (credit-normal) reads Cr, not a negative figure.
    b = _ok(cli("balance", "RES:4001:230822", "--json", user="aud")).json()
    assert (b["normal_side"], b["side"], b["amount"], b["balance"]) == ("C", "C", "1000000.00", "-1000000.00")
    text = _ok(cli("balance", "RES:4001:230822", user="aud")).stdout
    assert "Cr 1,000,000.00" in text and "normal side Cr" in text
    chinese = _ok(cli("balance", "RES:4001:230822", user="aud", env={"FUNDLEDGER_LANG": "zh"})).stdout
    assert "贷 1,000,000.00" in chinese and "余额方向 贷" in chinese
    cash = _ok(cli("balance", "RES:1003:230822:special", "--json", user="aud")).json()
    assert (cash["normal_side"], cash["side"], cash["amount"]) == ("D", "D", "1000000.00")


def test_year_and_date_options(ledger_db):
    cli = ledger_db.cli
    # interest allocate: --from/--to are the period, --date the entry's date.
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-01", "230822", "1000.00"), collect("c81", "2024-01-01", "230881", "3000.00"))
    fin.commit()
    r = _ok(cli("interest", "allocate", "--amount", "4.00", "--book", "RES", "--from", "2024-01-01", "--to",
                "2024-01-10", "--date", "2024-01-15", "--json", user="fin")).json()
    assert (r["from"], r["to"]) == ("2024-01-01", "2024-01-10")
    assert {s["unit"]: s["share"] for s in r["shares"]} == {"230822": "1.00", "230881": "3.00"}
    late = cli("interest", "allocate", "--amount", "4.00", "--book", "RES", "--to", "2024-02-01", "--date",
               "2024-01-15", user="fin")
    assert late.exit_code == 1 and "--to 2024-02-01 is after the entry date" in late.stderr, late

    # close year: --year is an option; the old positional form still works and says so.
    missing = cli("close", "year", "--date", "2024-12-31", user="rev")
    assert missing.exit_code == 1 and "--year is required" in missing.stderr, missing
    done = _ok(cli("close", "year", "--year", "2024", "--date", "2024-12-31", "--json", user="rev")).json()
    assert done["year"] == 2024
    old = cli("close", "year", "2025", "--date", "2025-12-31", user="rev")
    assert old.exit_code == 0 and "close year --year 2025" in old.stderr, old


def test_the_shortfall_says_one_word_per_figure_and_keeps_files_safe(ledger_db, tmp_path):
    """Screen and files use the same words (分担后累计结余, 累计结余弥补); --csv/--xlsx
    write as every report does: an existing file only with --force."""
    cli = ledger_db.cli
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", "230822", "1000.00"))
    fin.commit()
    zh = {"FUNDLEDGER_LANG": "zh", "COLUMNS": "80"}
    target = tmp_path / "shortfall.csv"
    target.write_text("keep", "utf-8")
    refused = cli("report", "shortfall", "--year", "2024", "--csv", str(target), user="aud", env=zh)
    assert refused.exit_code == 1 and target.read_text("utf-8") == "keep", refused
    screen = _ok(cli("report", "shortfall", "--year", "2024", "--csv", str(target), "--force", user="aud", env=zh))
    header = target.read_text("utf-8-sig").splitlines()[0].split(",")
    for word in ("分担后累计结余", "累计结余弥补", "年初累计结余", "政府分担"):
        assert word in header and word in screen.stdout, word
