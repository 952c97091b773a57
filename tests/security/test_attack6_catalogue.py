"""ATTACK6 T8, T10, T11, T15: catalogue changes the fingerprint did not cover.

The insider is the superuser of the embedded server (or of the CI server). Each lever
below changed what a later write does — who a row names, whether maker-checker holds,
whether a guard trigger fires, whether the chained history survives a crash — with no
row touched, and verify and check-digest stayed green: the fingerprint held columns
without their DEFAULTs, functions without STRICT/LEAKPROOF/COST/PARALLEL/argument
defaults, triggers without their WHEN clause, UPDATE OF list or arguments, and no
indexes, sequences, persistence or operators at all. Each is now a catalogue finding
naming the object, in the independent verdict and in check-digest (they share the
check).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def _catalogue(ledger_db: LedgerDB) -> dict[str, str]:
    """The catalogue findings of the independent verdict, as the auditor's login gets
    them: object named -> its messages (a table's relation and its columns share a name)."""
    from ledger.store.verify_independent import verify_independent

    c = ledger_db.connect("aud")
    try:
        rep = verify_independent(c)
    finally:
        c.close()
    out: dict[str, str] = {}
    for f in rep.findings:
        if f.check == "catalogue":
            out[f.account or ""] = (out[f.account or ""] + " | " if f.account in out else "") + f.message
    return out


def _refuse_with_another_default(admin: psycopg.Connection) -> None:
    """fl.refuse's third argument gets another DEFAULT by CREATE OR REPLACE: its body
    (prosrc), language, volatility, security and settings stay exactly the same."""
    d = admin.execute("SELECT pg_catalog.pg_get_functiondef('fl.refuse(text,text,text)'::regprocedure) AS d"
                      ).fetchone()["d"]
    assert "DEFAULT 'check_violation'::text" in d
    admin.execute(d.replace("DEFAULT 'check_violation'::text", "DEFAULT 'warning'::text"))


def _redefine_trigger(admin: psycopg.Connection, table: str, name: str, old: str, new: str) -> None:
    """A guard trigger dropped and created again under its own name, with ``old`` in its
    definition replaced by ``new`` (the same function, events and deferral otherwise)."""
    d = admin.execute("SELECT pg_catalog.pg_get_triggerdef(t.oid) AS d FROM pg_catalog.pg_trigger t "
                      "WHERE t.tgrelid = %s::regclass AND t.tgname = %s", (table, name)).fetchone()["d"]
    assert old in d, d
    admin.execute(f"DROP TRIGGER {name} ON {table}")
    admin.execute(d.replace(old, new))


def _pooled_share_never_fires(admin: psycopg.Connection) -> None:
    """T11 as the red team did it: ``WHEN (false)``."""
    d = admin.execute("SELECT pg_catalog.pg_get_triggerdef(t.oid) AS d FROM pg_catalog.pg_trigger t "
                      "WHERE t.tgrelid = 'fl.account'::regclass AND t.tgname = 'account_pooled_share'").fetchone()["d"]
    admin.execute("DROP TRIGGER account_pooled_share ON fl.account")
    admin.execute(d[:d.index(" WHEN (")] + " WHEN (false) EXECUTE FUNCTION fl.pooled_share_guard()")


def _components_on_another_column(admin: psycopg.Connection) -> None:
    _redefine_trigger(admin, "fl.account", "account_components_separate", "UPDATE OF balance", "UPDATE OF debits")


Lever = str | Callable[[psycopg.Connection], None]

# (lever, the object the finding must name, a word its message must hold or ""). Each
# lever changes another object, so all are set on one database and each must be named
# on its own.
LEVERS: dict[str, tuple[Lever, str, str]] = {
    # T8: the "who" and "when" DEFAULTs of the ledger
    "maker default": ("ALTER TABLE fl.pending_entry ALTER COLUMN made_by SET DEFAULT 'rev2'",
                      "fl.pending_entry", "made_by text not null default 'rev2'"),
    "history actor default": ("ALTER TABLE fl.record_log ALTER COLUMN actor SET DEFAULT 'rev'",
                              "fl.record_log", "actor text not null default 'rev'"),
    "event time default": ("ALTER TABLE fl.request_event ALTER COLUMN at SET DEFAULT '2024-01-01'",
                           "fl.request_event", "2024-01-01"),
    "default dropped": ("ALTER TABLE fl.closed_period ALTER COLUMN closed_by DROP DEFAULT",
                        "fl.closed_period", "closed_by"),
    "identity options": ("ALTER TABLE fl.pending_entry ALTER COLUMN id SET INCREMENT BY 2",
                         "fl.pending_entry_id_seq", "increment 2"),
    "sequence cycles": ("ALTER SEQUENCE fl.entry_id_seq MAXVALUE 1000 CYCLE", "fl.entry_id_seq", "cycle"),
    "column collation": ("ALTER TABLE fl.operation_log ALTER COLUMN subject TYPE text COLLATE \"C\"",
                         "fl.operation_log", "collate"),
    # T10: function attributes outside the source text
    "strict": ("ALTER FUNCTION fl._real_money(text, text) STRICT", "fl._real_money(text,text)", ""),
    "leakproof": ("ALTER FUNCTION fl._reads_unit(text) LEAKPROOF", "fl._reads_unit(text)", ""),
    "cost": ("ALTER FUNCTION fl._key_namespace(text) COST 1000", "fl._key_namespace(text)", ""),
    "parallel": ("ALTER FUNCTION fl._is_operator() PARALLEL SAFE", "fl._is_operator()", ""),
    "argument default": (_refuse_with_another_default, "fl.refuse(text,text,text)", ""),
    # T11: guard triggers neutered under their own names
    "trigger WHEN (false)": (_pooled_share_never_fires, "fl.account.account_pooled_share", ""),
    "trigger UPDATE OF": (_components_on_another_column, "fl.account.account_components_separate", ""),
    # T15: persistence, an added index, an operator in fl, a view's rights
    "unlogged history": ("ALTER TABLE fl.record_log SET UNLOGGED", "fl.record_log", "UNLOGGED"),
    "censoring index": ("CREATE UNIQUE INDEX x_block ON fl.request_event (request_id) "
                        "WHERE action = 'approve' AND request_id > 1", "fl.x_block", "added"),
    "index redefined": ("DROP INDEX fl.posting_entry; CREATE INDEX posting_entry ON fl.posting (id)",
                        "fl.posting_entry", ""),
    "operator in fl": ("CREATE OPERATOR fl.=== (leftarg = bigint, rightarg = bigint, function = pg_catalog.int8eq)",
                       "operator fl.===(bigint,bigint)", "added"),
    "view reads with the owner's rights": ("ALTER VIEW fl.user_login SET (security_invoker = false)",
                                           "fl.user_login", "security_invoker=false"),
}


def test_each_catalogue_lever_is_named(ledger_db: LedgerDB) -> None:
    assert _catalogue(ledger_db) == {}
    admin = ledger_db.admin()
    for change, _name, _word in LEVERS.values():
        if isinstance(change, str):
            for statement in change.split("; "):
                admin.execute(statement)
        else:
            change(admin)
    got = _catalogue(ledger_db)
    missed = {lever: got.get(name) for lever, (_c, name, word) in LEVERS.items()
              if name not in got or word not in got[name]}
    assert not missed, (missed, got)


def test_a_faked_definition_printer_is_named(ledger_db: LedgerDB) -> None:
    """The fingerprint reads definitions through pg_catalog's C built-ins. A superuser
    who replaces one to print the shipped text (here every trigger prints alike) is
    named as the replaced built-in, and what it printed differs from the release too."""
    admin = ledger_db.admin()
    admin.execute("CREATE OR REPLACE FUNCTION pg_catalog.pg_get_triggerdef(oid) RETURNS text LANGUAGE sql STABLE "
                  "AS $$ SELECT 'as shipped'::pg_catalog.text $$")
    got = _catalogue(ledger_db)
    assert "function pg_catalog.pg_get_triggerdef(oid)" in got, got


def test_check_digest_names_a_catalogue_lever(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The red team's T10 reproduction: check-digest against a digest filed before the
    DDL names the function too (it runs the same catalogue check)."""
    filed = tmp_path / "digest.json"
    assert ledger_db.cli("audit", "digest", "--out", str(filed), user="aud").exit_code == 0
    ledger_db.admin().execute("ALTER FUNCTION fl._real_money(text, text) STRICT")
    r = ledger_db.cli("audit", "check-digest", str(filed), "--json", user="aud")
    assert r.exit_code == 1, r
    named = {f["account"] for c in r.json()["checks"] if c["name"] == "catalogue" for f in c["findings"]}
    assert "fl._real_money(text,text)" in named, r.json()


def test_settings_of_every_ledger_login_group_and_the_database_are_named(ledger_db: LedgerDB) -> None:
    """ATTACK6 T12: ``ALTER ROLE <officer> IN DATABASE … SET session_replication_role =
    replica`` switched every trigger off for that officer's writes, and the settings check
    read only the auditor's role and the database. Now every login of fl.app_user, the
    ledger's groups and ALL are read too; each is named with the role it applies to. (In
    this database only: roles are cluster-wide and a shared server runs other tests.)"""
    admin = ledger_db.admin()
    db = f'"{ledger_db.name}"'
    assert ledger_db.cli("verify", "--json", user="aud").exit_code == 0
    for target in ("ROLE o22", "ROLE fl_reviewer", "ROLE ALL"):
        admin.execute(f"ALTER {target} IN DATABASE {db} SET session_replication_role = replica")
    # Harmless, not named: a writer's own path (every ledger function pins its own, and a
    # login may set its path itself — naming it would let any officer fail the verdict at
    # will: tests/security/test_attacks.py), and a timeout.
    admin.execute(f"ALTER ROLE rev2 IN DATABASE {db} SET search_path = public, fl, pg_catalog")
    admin.execute(f"ALTER ROLE fin IN DATABASE {db} SET statement_timeout = '20s'")
    try:
        r = ledger_db.cli("verify", "--json", user="aud")
    finally:
        for target in ("ROLE o22", "ROLE fl_reviewer", "ROLE ALL", "ROLE rev2", "ROLE fin"):
            admin.execute(f"ALTER {target} IN DATABASE {db} RESET ALL")
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r
    settings = next(c for c in r.json()["independent"]["checks"] if c["name"] == "settings")
    named = {f["account"]: f["message"] for f in settings["findings"]}
    assert set(named) == {"setting session_replication_role of o22", "setting session_replication_role of fl_reviewer",
                          "setting session_replication_role"}, named
    assert "no ordinary trigger fires" in named["setting session_replication_role of o22"]
    assert "the ledger's other sessions too" in named["setting session_replication_role"]


def _res(key: str, dr: str, dr_unit: str, cr: str, cr_unit: str, yuan: str, *, dr_holder: str | None = None,
         cr_holder: str | None = None) -> dict:  # type: ignore[type-arg]
    return {"date": "2024-03-01", "book": "RES", "idempotency_key": key, "memo": key, "postings": [
        {"account": dr, "unit": dr_unit, "holder": dr_holder, "side": "debit", "amount": yuan},
        {"account": cr, "unit": cr_unit, "holder": cr_holder, "side": "credit", "amount": yuan}]}


def _post_confirmed(ledger_db: LedgerDB, doc: dict) -> int:  # type: ignore[type-arg]
    """Posted by finance, confirmed by a reviewer where it is held: the entry's id."""
    r = ledger_db.cli("entry", "post", "-", "--json", user="fin", input=json.dumps([doc]))
    assert r.exit_code == 0, r
    [out] = r.json()
    if out["status"] == "held":
        c = ledger_db.cli("entry", "confirm", str(out["held_id"]), "--json", user="rev")
        assert c.exit_code == 0, c
    row = ledger_db.admin().execute("SELECT id FROM fl.entry WHERE idempotency_key LIKE %s",
                                    (f"%{doc['idempotency_key']}",)).fetchone()
    return int(row["id"])


def test_a_pooled_share_below_zero_is_named_when_its_guard_is_neutered(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """ATTACK6 T11: the pooled-share guard re-created with ``WHEN (false)``; the city
    proper then pays 5,000 of its benefits out of the city expenditure account, where it
    holds nothing — the money there is 230822's, in transit. The bank account's total
    stays positive (no_overdraft has nothing to say): the verdict re-derives 0030's rule
    and names the unit, the account and the entry — online and offline — besides the
    trigger the catalogue names."""
    _post_confirmed(ledger_db, _res("in-transit", "1004", "230822", "4001", "230822", "10000.00",
                                    dr_holder="city_exp"))
    admin = ledger_db.admin()
    _pooled_share_never_fires(admin)
    bad = _post_confirmed(ledger_db, _res("city-pays", "5001.inpatient", "230800", "1004", "230800", "5000.00",
                                          cr_holder="city_exp"))
    r = ledger_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r
    ind = r.json()["independent"]
    failed = {c["name"]: c["findings"] for c in ind["checks"] if not c["ok"]}
    # (day_balances, the day-end view of the same rule, names the day too)
    assert {"catalogue", "pooled_shares"} <= set(failed) and "no_overdraft" not in failed, failed
    [f] = failed["pooled_shares"]
    assert f["entry_id"] == bad and "230800" in f["message"] and "-5,000.00" in f["message"], f
    assert "230800" in f["account"] and "1004" in f["account"], f

    export = tmp_path / "export"
    assert ledger_db.cli("audit", "export", str(export), user="aud").exit_code == 0
    off = ledger_db.cli("verify", "--offline", str(export), "--json", "--no-digest")
    assert off.exit_code == 1, off
    assert bad in {f["entry_id"] for c in off.json()["checks"] if c["name"] == "pooled_shares" for f in c["findings"]}
