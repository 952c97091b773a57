"""ATTACK11 Y7: reversing a reversal after a new clearing was refused with PostgreSQL's raw CHECK text.

0081 undoes a reversed entry's register clearings, so reversing that reversal clears again — and when
the item was cleared again meanwhile (the real payment, taken after the first reversal), clearing again
would clear more than is owed. 0081 left the refusal to CHECK register_not_overcleared: the officer saw
'new row for relation "register_item" violates check constraint "register_not_overcleared"' — English,
no item, no amount, nothing to do next. Since 0091 it is ``reversal_overclears``, Chinese first, naming
the entry reversed, the item, the amount it would clear again, what is outstanding and the clearing
made since to reverse first:

* the red team's case (arrears cleared, the clearing reversed, the real payment taken in full, the
  reversal reversed): refused at ``entry reverse``, in Chinese, exit 1, no traceback, nothing held;
  in English on request;
* a reversal of the reversal held *before* the new clearing and confirmed after it: refused at the
  confirmation (the row trigger on every path), nothing written, the held entry still there to reject;
* a reversal of the reversal that still fits (part of the item re-cleared) is taken, and the books stay
  whole;
* a local government's share, paid, the payment reversed, paid again in full: reversing the reversal
  is refused the same way;
* the class: the same reversal written with ``fl._post`` directly is refused by the row trigger; with
  that check suspended, fl.reversal_unclears itself refuses it in words (never the CHECK); and the
  table's CHECK reached by any path left is worded at the CLI edge, naming the item.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from ledger import i18n
from tests.conftest import LedgerDB
from tests.integration.test_registers_budget import items, open_handover
from tests.security.test_attack7_rules import body_off
from tests.security.test_attack10_register_reversal_variants import _ok, _pay, _reverse, share  # noqa: F401

pytestmark = pytest.mark.db

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"FUNDLEDGER_LANG": "zh"}


def _clear(db: LedgerDB, fid: str, amount: str, date: str) -> int:
    r = _ok(db.cli("register", "clear", fid, "--amount", amount, "--date", date, "--json", user="fin")).json()
    return int(r["entry_id"])


def _cleared_then_reversed(db: LedgerDB) -> tuple[str, int, int]:
    """HN-REG-1 (fiscal arrears of 230822, ¥300,000): ¥100,000 cleared, that clearing reversed."""
    open_handover(db)
    fid = str(items(db)["HN-REG-1"]["id"])
    first = _clear(db, fid, "100000.00", "2023-03-01")
    rev = _reverse(db, first, "2023-03-02")
    assert items(db)["HN-REG-1"]["outstanding"] == "300000.00"
    return fid, first, rev


def _no_traceback(r) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r


def _held_count(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT count(*) AS n FROM fl.pending_entry WHERE state = 'held'").fetchone()["n"])


def test_y7_reversing_the_reversal_after_the_real_payment_is_refused_in_chinese(ledger_db: LedgerDB) -> None:
    db = ledger_db
    fid, _first, rev = _cleared_then_reversed(db)
    paid = _clear(db, fid, "300000.00", "2023-03-05")           # the real payment, in full
    held = _held_count(db)
    r = db.cli("entry", "reverse", str(rev), "--reason", "the first transfer had arrived after all", "--date",
               "2023-03-06", user="fin", env=ZH)
    assert r.exit_code == 1, r
    _no_traceback(r)
    err = r.stderr
    assert "reversal_overclears" in err and CJK.search(err), err
    assert "violates check constraint" not in err and "违反" not in err, err
    assert f"备查簿第 {fid} 项" in err and "财政欠缴" in err, err
    assert "100,000.00" in err and "0.00" in err, err                   # again by; outstanding
    assert f"fundledger entry reverse {paid}" in err, err              # the clearing to reverse first
    # no English words but the command, the rule's code and the entries' keys (in brackets)
    words = re.sub(r"\([^()]*\)", "", err.replace("fundledger entry reverse", "").replace("reversal_overclears", ""))
    assert not re.search(r"[A-Za-z]{5,}", words.replace("--reason", "")), err
    assert _held_count(db) == held                                        # nothing held
    assert items(db)["HN-REG-1"]["outstanding"] == "0.00"
    en = db.cli("--lang", "en", "entry", "reverse", str(rev), "--reason", "x", "--date", "2023-03-06", user="fin")
    assert en.exit_code == 1 and "[reversal_overclears]" in en.stderr, en
    assert (f"would clear register item {fid}" in en.stderr and "again by 100,000.00" in en.stderr
            and "only 0.00 of it is outstanding" in en.stderr and "reverse it first" in en.stderr), en.stderr
    _no_traceback(en)
    # what the message says to do works: reverse the clearing booked by mistake, then the reversal
    _reverse(db, paid, "2023-03-06")
    _reverse(db, rev, "2023-03-07")
    assert items(db)["HN-REG-1"]["outstanding"] == "200000.00"
    assert db.cli("verify", user="aud").exit_code == 0


def test_y7_a_held_reversal_confirmed_after_a_new_clearing_is_refused_at_confirmation(ledger_db: LedgerDB) -> None:
    db = ledger_db
    fid, _first, rev = _cleared_then_reversed(db)
    h = _ok(db.cli("entry", "reverse", str(rev), "--reason", "it had arrived", "--date", "2023-03-06", "--json",
                   user="fin")).json()
    assert h["status"] == "held", h
    paid = _clear(db, fid, "250000.00", "2023-03-05")            # outstanding now ¥50,000
    r = db.cli("entry", "confirm", str(h["held_id"]), user="rev", env=ZH)
    assert r.exit_code == 1, r
    _no_traceback(r)
    assert "reversal_overclears" in r.stderr and CJK.search(r.stderr), r.stderr
    assert "50,000.00" in r.stderr and "100,000.00" in r.stderr and f"entry reverse {paid}" in r.stderr, r.stderr
    assert "violates check constraint" not in r.stderr
    assert items(db)["HN-REG-1"]["outstanding"] == "50000.00"               # nothing written
    assert db.admin().execute("SELECT state FROM fl.pending_entry WHERE id = %s", (h["held_id"],)
                              ).fetchone()["state"] == "held"                 # still there to reject
    assert db.cli("entry", "reject", str(h["held_id"]), "--reason", "paid since", user="rev").exit_code == 0
    v = db.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, [f for c in v.json()["checks"] for f in c["findings"]] + [
        f for c in v.json().get("independent", {}).get("checks", []) for f in c["findings"]]


def test_y7_a_reversal_of_the_reversal_that_still_fits_is_taken(ledger_db: LedgerDB) -> None:
    db = ledger_db
    fid, _first, rev = _cleared_then_reversed(db)
    _clear(db, fid, "200000.00", "2023-03-05")                   # outstanding ¥100,000: exactly room
    _reverse(db, rev, "2023-03-06")
    after = items(db)["HN-REG-1"]
    assert (after["cleared"], after["outstanding"]) == ("300000.00", "0.00"), after
    assert db.cli("verify", user="aud").exit_code == 0


def test_y7_a_government_share_paid_again_then_the_reversal_reversed(share: LedgerDB) -> None:  # noqa: F811
    db = share
    paid = _pay(db, "30000.00", "2024-01-15")
    rev = _reverse(db, paid, "2024-02-10")
    again = _pay(db, "70000.00", "2024-02-12")                   # the whole share, paid for real
    r = db.cli("entry", "reverse", str(rev), "--reason", "x", "--date", "2024-02-13", user="fin", env=ZH)
    assert r.exit_code == 1 and "reversal_overclears" in r.stderr and CJK.search(r.stderr), r
    assert "30,000.00" in r.stderr and f"entry reverse {again}" in r.stderr, r.stderr
    _no_traceback(r)
    assert db.cli("verify", user="aud").exit_code == 0


def test_y7_every_path_refuses_in_words(ledger_db: LedgerDB) -> None:
    """fl._post called directly (the row trigger before the insert), and fl.reversal_unclears alone with
    that check suspended for the call (its own check under the item's lock): reversal_overclears, never
    the table's CHECK."""
    db = ledger_db
    fid, _first, rev = _cleared_then_reversed(db)
    _clear(db, fid, "300000.00", "2023-03-05")
    admin = db.admin()
    post = ("SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', date '2023-03-06', 'again', 'reversal', 'reversal:postgres:y7-direct', %(r)s, "
            "'x', '{}'::jsonb, NULL)::fl.new_entry], (SELECT array_agg(ROW(1, p.rn, a.book, a.chart_code, a.unit, "
            "a.holder, a.component, CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END, p.amount, p.line_ref, p.memo"
            ")::fl.new_posting ORDER BY p.rn) FROM (SELECT q.*, row_number() OVER (ORDER BY q.id)::int AS rn "
            "FROM fl.posting q WHERE q.entry_id = %(r)s) p JOIN fl.account a ON a.id = p.account_id))")
    with pytest.raises(psycopg.Error) as e:
        admin.execute(post, {"r": rev})
    assert e.value.diag.constraint_name == "reversal_overclears", e.value
    assert "would clear register item" in str(e.value)
    with body_off(admin, "fl.reversal_allowed_of(fl.entry)", "\nBEGIN\n  RETURN;\nEND "), \
            pytest.raises(psycopg.Error) as e:
        admin.execute(post, {"r": rev})
    assert e.value.diag.constraint_name == "reversal_overclears", e.value
    assert items(db)["HN-REG-1"]["outstanding"] == "0.00"
    assert db.cli("verify", user="aud").exit_code == 0


def test_y7_the_tables_own_check_is_worded_at_the_edge(ledger_db: LedgerDB) -> None:
    """Whatever path still reaches CHECK register_not_overcleared: the item and what to do, in Chinese."""
    from cli.errors import localise
    from ledger.store.translate import translate

    open_handover(ledger_db)
    fid = str(items(ledger_db)["HN-REG-1"]["id"])
    admin = ledger_db.admin()
    with pytest.raises(psycopg.errors.CheckViolation) as e:
        admin.execute("UPDATE fl.register_item SET cleared = amount + 1 WHERE id = %s", (int(fid),))
    saved = i18n.get_lang()
    try:
        for lang in ("en", "zh"):
            i18n.set_lang(lang)
            err = translate(e.value)
            assert err.rule == "register_not_overcleared"
            shown = localise(str(err), err.rule, lang)
            assert fid in shown and "violates" not in shown, shown
            if lang == "zh":
                assert CJK.search(shown) and "fundledger register list" in shown, shown
            else:
                assert f"register item {fid} (fiscal arrears of unit 230822)" in shown, shown
    finally:
        i18n.set_lang(saved)
