"""ATTACK20 L8 (LOW-MED): the user's ``PGCLIENTENCODING`` (libpq's environment; GBK is the usual value on
a Chinese Windows server) reaches every ledger session: a traceback, bytes printed as ``b'…'``, and
refusals that blame the user's input.

The verifiers pin ``client_encoding=UTF8`` in their startup packet (``verify_session.STARTUP``); the
ordinary sessions of ``ledger.store.db`` do not, and libpq takes ``PGCLIENTENCODING`` from the
environment. Under ``SQL_ASCII`` psycopg returns text as bytes: ``entry post`` prints ``posted entry 2
voucher RES/b'2024-000002'`` and ``unit list`` ends in ``TypeError: can only concatenate str (not
"bytes") to str`` — a traceback. Under ``GBK`` (or EUC_CN, BIG5) ``unit list`` is refused "the input
holds text that is not valid Unicode … Give UTF-8 text and files" (no input was given: a unit name
outside GBK cannot be sent to the client), and an ``entry post`` whose memo holds 𠀀 or € is refused
the same way; under ``LATIN1``/``WIN1252`` ``account list`` says ``[text_nul] a value given holds a NUL
character`` — false. Nothing is written wrongly, but the rule "no traceback ever reaches a user" and
"refusals say what is wrong and what to do" fail for an environment setting the user may not know of.

Safe behaviour asserted: with any ``PGCLIENTENCODING`` the commands work as under UTF-8 (every session
pins client_encoding=UTF8 in its startup packet, as the verifiers' do) — or refuse naming
PGCLIENTENCODING.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db


def _run(db: LedgerDB, *args: str, env: dict[str, str]) -> tuple[object, str, str]:
    try:
        r = db.cli(*args, user="o22", env=env)
    except BaseException as e:
        return "traceback", "", "".join(traceback.format_exception_only(e))
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("enc", ["SQL_ASCII", "GBK", "LATIN1"])
def test_l8_the_environments_client_encoding_does_not_reach_the_ledger(ledger_db: LedgerDB, tmp_path: Path,
                                                                       enc: str) -> None:
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-05", "230822", "1000.00"))
    fin.commit()
    env = {"PGCLIENTENCODING": enc}
    doc = {"date": "2024-02-01", "book": "RES", "memo": "住院费用更正 𠀀", "idempotency_key": "k1", "postings": [
        {"account": "1101", "unit": "230822", "side": "debit", "amount": "10.00"},
        {"account": "2001", "unit": "230822", "side": "credit", "amount": "10.00"}]}
    f = tmp_path / "e.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    bad = []
    for args in [("unit", "list"), ("account", "list"), ("entry", "post", str(f))]:
        code, out, err = _run(ledger_db, *args, env=env)
        named = "PGCLIENTENCODING" in err
        if not named and (code != 0 or "b'" in out):
            bad.append(f"{' '.join(args[:2])}: exit {code}: {(out[-150:] + ' | ' + err[-250:])!r}")
    # on main: SQL_ASCII — unit list a TypeError traceback, entry post prints RES/b'2024-…';
    # GBK — unit list / entry post "not valid Unicode"; LATIN1 — account list "[text_nul] … NUL character"
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("env", [{"PGOPTIONS": "-c DateStyle=SQL,DMY"}, {"PGDATESTYLE": "SQL, DMY"}],
                         ids=["PGOPTIONS", "PGDATESTYLE"])
def test_l8_a_session_datestyle_from_the_environment_is_no_traceback(ledger_db: LedgerDB, tmp_path: Path,
                                                                     env: dict[str, str]) -> None:
    """The same class, another setting: libpq's PGOPTIONS / PGDATESTYLE (or a DBA's ``ALTER ROLE … SET
    DateStyle = 'SQL, DMY'``) — psycopg cannot parse a timestamptz printed 'SQL, DMY' and ``entry post``,
    ``entry show`` and ``report vouchers`` end in ``NotImplementedError: can't parse timestamptz with
    DateStyle 'SQL, DMY'`` (entry post's traceback comes after its commit: the entry is written)."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-05", "230822", "1000.00"))
    fin.commit()
    doc = {"date": "2024-02-01", "book": "RES", "memo": "m", "idempotency_key": "k1", "postings": [
        {"account": "1101", "unit": "230822", "side": "debit", "amount": "10.00"},
        {"account": "2001", "unit": "230822", "side": "credit", "amount": "10.00"}]}
    f = tmp_path / "e.json"
    f.write_text(json.dumps(doc), "utf-8")
    bad = []
    for args in [("entry", "post", str(f)), ("entry", "show", "1"), ("report", "vouchers")]:
        code, _out, err = _run(ledger_db, *args, env=env)
        if (code != 0 and "DateStyle" not in err) or code == "traceback":
            bad.append(f"{' '.join(args[:2])}: exit {code}: {err[-250:]!r}")
    assert not bad, "\n".join(bad)


def test_l8_a_database_datestyle_set_by_the_dba_is_no_traceback(ledger_db: LedgerDB) -> None:
    """The DBA's side of the same class: ``ALTER DATABASE … SET DateStyle = 'SQL, DMY'`` (a presentation
    setting in ``verify``'s HARMLESS_SETTINGS, so its ``settings`` check does not name it) makes every
    user's ``entry show`` / ``report vouchers`` a traceback."""
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-05", "230822", "1000.00"))
    fin.commit()
    ledger_db.admin().execute(f'ALTER DATABASE "{ledger_db.name}" SET DateStyle = \'SQL, DMY\'')
    bad = []
    for args in [("entry", "show", "1"), ("report", "vouchers")]:
        try:
            r = ledger_db.cli(*args, user="rev")
        except BaseException as e:  # what escapes the CLI edge is the finding
            bad.append(f"{' '.join(args)}: {type(e).__name__}: {e}")
            continue
        if r.exit_code != 0 and "DateStyle" not in r.stderr:
            bad.append(f"{' '.join(args)}: exit {r.exit_code}: {r.stderr[-200:]!r}")
    assert not bad, "\n".join(bad)
