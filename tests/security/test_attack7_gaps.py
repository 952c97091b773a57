"""The gaps the last session left in the auditor's proof (issue 15), closed as an auditor
expects them closed:

1. ``verify --offline DIR`` runs the ``actors`` check (ledger.core.actors) over the export:
   an export's offline verdict names what the online verdict of its database names.
2. ``audit check-digest`` lists every change of a column fundledger changes (approver,
   approved amount, disbursement and settlement entries, cleared amounts, held
   decisions) recorded after the digest, and says whether a history version explains it.
3. A writer login's DateStyle / TimeZone / IntervalStyle / extra_float_digits set by
   ALTER ROLE change nothing the ledger stores nor the verdict.

The workflow ledger of tests/security/test_actors.py (registers, a request through every
step, held entries confirmed, rejected and still held) is built once and copied."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ledger.io import archive
from ledger.store.verify_independent import verify_independent
from tests.conftest import LedgerDB, clone_database
from tests.security.test_actors import built, copy  # noqa: F401  (fixtures)

pytestmark = pytest.mark.db


def _online(db: LedgerDB) -> dict[str, set[tuple[str | None, str]]]:
    c = db.connect("aud")
    try:
        rep = verify_independent(c)
    finally:
        c.close()
    return {ch.name: {(f.account, f.message) for f in ch.findings} for ch in rep.checks}


def _offline(out: Path, filed: Path | None) -> dict[str, set[tuple[str | None, str]]]:
    rep = archive.verify_offline(out, filed)
    return {ch.name: {(f.account, f.message) for f in ch.findings} for ch in rep.checks}


def _export(db: LedgerDB, tmp: Path, name: str) -> tuple[Path, Path]:
    out, filed = tmp / name, tmp / f"{name}.json"
    r = db.cli("audit", "export", str(out), "--digest-out", str(filed), "--json", user="aud")
    assert r.exit_code in (0, 1), r
    assert filed.exists(), r
    return out, filed


# ---- 1. the actors check offline -------------------------------------------------------------

def test_an_untouched_export_passes_the_actors_check_offline(copy: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    out, filed = _export(copy, tmp_path, "clean")
    rep = archive.verify_offline(out, filed)
    actors = [c for c in rep.checks if c.name == "actors"]
    assert actors and actors[0].ok and actors[0].checked > 10, actors
    assert rep.ok, [(c.name, c.findings[:3]) for c in rep.checks if not c.ok]


@pytest.mark.parametrize("tamper", [
    "UPDATE fl.fund_request SET approved_by = 'rev2' WHERE id = 1",
    "UPDATE fl.fund_request SET disburse_entry = 1 WHERE id = 1",
    "UPDATE fl.register_item SET cleared = amount WHERE id = (SELECT min(id) FROM fl.register_item "
    "WHERE kind = 'fiscal_arrears')",
    "UPDATE fl.pending_entry SET state = 'rejected', decided_by = 'rev2', decided_at = now(), "
    "decision_reason = 'dup' WHERE id = (SELECT min(id) FROM fl.pending_entry WHERE state = 'held')",
])
def test_the_offline_verdict_of_a_tampered_ledger_names_what_the_online_verdict_names(
        copy: LedgerDB, tmp_path: Path, tamper: str) -> None:  # noqa: F811
    """The superuser's UPDATE (triggers on: recorded as postgres's): the online verdict's
    findings, and the offline verdict's of an export taken afterwards, are the same — check by
    check (all but the settings of the server, which offline has none of, and the export's
    own files)."""
    copy.admin().execute(tamper)
    online = _online(copy)
    assert online["actors"], online
    out, filed = _export(copy, tmp_path, "tampered")
    offline = _offline(out, filed)
    # (ATTACK14 V7) the live server's checks, recorded in the archive at export (online.json)
    recorded = {n for n in offline if n.startswith("online_")}
    assert recorded == {"online_logins", "online_builtins", "online_additions", "online_settings"}, recorded
    assert set(online) - set(offline) == {"settings"}
    assert set(offline) - set(online) - recorded == {"export_files", "export_canonical"}
    assert bool(offline["online_settings"]) == bool(online["settings"])    # a server's finding stays one
    for name in set(online) & set(offline):
        assert offline[name] == online[name], name
    assert offline["export_files"] == set()          # the export is the one filed: the ledger is what is wrong


def test_a_changed_byte_of_the_history_in_the_export_is_named(copy: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    """Who approved request 1, changed in the exported history (rev -> rev2 in the approve
    event's version): the file is named against the manifest, the chain names the version,
    and the actors check (which reads the versions) names the approval."""
    out, filed = _export(copy, tmp_path, "byte")
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    p = bad / "tables" / "record_log.csv"
    text = p.read_text("utf-8")
    needle = '""action"": ""approve""'
    at = text.index(needle)
    line_start = text.rindex("\n", 0, at) + 1
    line_end = text.index("\n", at)
    line = text[line_start:line_end]
    assert '""actor"": ""rev""' in line, line
    changed = line.replace('""actor"": ""rev""', '""actor"": ""rev2""', 1)
    p.write_text(text[:line_start] + changed + text[line_end:], "utf-8")
    rep = archive.verify_offline(bad, filed)
    assert not rep.ok
    named = {(f.check, f.account) for f in rep.findings}
    assert ("export_files", "tables/record_log.csv") in named, named
    assert any(f.check == "history_chain" for f in rep.findings), named
    # Internal consistency alone (the forger re-listed the file): the actors check still reads it.
    m = json.loads((bad / "manifest.json").read_text())
    m["files"]["tables/record_log.csv"] = archive.file_digests(p)
    (bad / "manifest.json").write_text(json.dumps(m))
    rep = archive.verify_offline(bad, no_digest=True)
    assert any(f.check == "actors" and "rev2" in f.message for f in rep.findings), \
        [(f.check, f.message) for f in rep.findings]


# ---- 3. a writer's DateStyle / TimeZone / IntervalStyle / extra_float_digits ------------------

def _far_zone() -> str:
    """A time zone whose date differs from the region's (Asia/Shanghai) right now: UTC-12 is
    behind it until 20:00 in Shanghai, UTC+14 ahead of it from 18:00 — one always is."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    now = dt.datetime.now(dt.UTC)
    here = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    return next(z for z in ("Etc/GMT+12", "Pacific/Kiritimati") if now.astimezone(ZoneInfo(z)).date() != here)


def _region_days() -> set[str]:
    """Today in Asia/Shanghai (and, for a test that runs across midnight, a moment later)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    return {dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()}


WRITERS = ("fin", "rev", "rev2", "o22")
_VOLATILE = ("created_at", "created_xid", "made_at", "decided_at", "submitted_at", "at", "client_addr",
             "sealed_at", "closed_at", "imported_at", "updated_at", "cleared_at")


def _writes(db: LedgerDB) -> dict[str, int]:
    """The same writes in every ledger: a manual entry (ISO date) held and confirmed, a
    reversal with no date given, a request approved, then disbursed and settled with no date
    given. Only ids are read back in the writers' sessions (their DateStyle is theirs)."""
    from tests.security.test_actors import _money_out

    fin, rev, rev2 = (db.connect(u, autocommit=True) for u in ("fin", "rev", "rev2"))
    held = rev.execute("SELECT held_id FROM fl.post_entries(%s::jsonb)", (_money_out("tz-1", "12.34"),)).fetchone()
    posted = fin.execute("SELECT entry_id FROM fl.confirm_entry(%s)", (held["held_id"],)).fetchone()["entry_id"]
    r = rev.execute("SELECT held_id FROM fl.reverse_entry(%s, 'tz test', NULL, 'tz-rev')", (posted,)).fetchone()
    reversal = fin.execute("SELECT entry_id FROM fl.confirm_entry(%s)", (r["held_id"],)).fetchone()["entry_id"]
    rev.execute("SELECT id FROM fl.request_approve(2, NULL)")
    fin.execute("SELECT id FROM fl.request_disburse(2, NULL, NULL)")
    rev2.execute("SELECT id FROM fl.request_settle(2, NULL, NULL)")
    return {"posted": posted, "reversal": reversal}


def _stored(db: LedgerDB) -> dict[str, list[tuple[object, ...]]]:
    """What the ledger stores, read by the superuser with default settings; the instants a
    write was made at (which differ between two runs) left out."""
    su = db.admin()

    def rows(q: str) -> list[tuple[object, ...]]:
        return [tuple(r.values()) for r in su.execute(q).fetchall()]

    strip = " - ".join(f"'{k}'" for k in _VOLATILE)
    return {
        "entry": rows("SELECT id, book, entry_date::text, idempotency_key, reverses, kind, memo, created_by, "
                      "content_hash, reason, source::text FROM fl.entry ORDER BY id"),
        "posting": rows("SELECT id, entry_id, account_id, side, amount, entry_date::text, unit, line_ref, memo "
                        "FROM fl.posting ORDER BY id"),
        "seal": rows("SELECT seq, entry_id, fiscal_year, voucher_no, content_digest, hash FROM fl.seal ORDER BY seq"),
        "request": rows("SELECT id, state, approved_by, amount_approved, disburse_entry, settle_entry "
                        "FROM fl.fund_request ORDER BY id"),
        "held": rows("SELECT id, state, made_by, decided_by, entry_id, entry_date::text FROM fl.pending_entry "
                     "ORDER BY id"),
        "history": rows(f"SELECT id, tbl, op, actor, row_key::text, (row_data - {strip})::text FROM fl.record_log "
                        "ORDER BY id"),
    }


def _settings_findings(db: LedgerDB) -> tuple[bool, list[str]]:
    c = db.connect("aud")
    try:
        rep = verify_independent(c)
    finally:
        c.close()
    return rep.ok, [f.message for ch in rep.checks if ch.name == "settings" for f in ch.findings] + \
        [f"{ch.name}: {f.message}" for ch in rep.checks if not ch.ok for f in ch.findings[:3]]


def test_a_writers_datestyle_and_timezone_change_nothing_stored_nor_the_verdict(
        pg_server, built: str, copy: LedgerDB) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Two copies of one ledger; in one every writer's login has DateStyle 'German, DMY', a
    time zone whose date is not the region's, IntervalStyle sql_standard and
    extra_float_digits -15 (ALTER ROLE … IN DATABASE: what a DBA would do). The same writes —
    among them a reversal, a disbursement and a settlement whose date the writer left to
    the ledger — store the same rows (dates, digests, seals, history) as under ISO/UTC, dated
    today in the region; both verdicts pass and the settings check names nothing."""
    import uuid

    import psycopg

    zone = _far_zone()
    other = f"fl_tz_{uuid.uuid4().hex[:10]}"
    clone_database(pg_server.admin_url, other, built)
    plain = LedgerDB(pg_server, other)
    try:
        su = copy.admin()
        for w in WRITERS:
            for k, v in (("DateStyle", "German, DMY"), ("TimeZone", zone), ("IntervalStyle", "sql_standard"),
                         ("extra_float_digits", "-15")):
                su.execute(f'ALTER ROLE {w} IN DATABASE "{copy.name}" SET {k} = \'{v}\'')
        for w in WRITERS:
            for k, v in (("DateStyle", "ISO, MDY"), ("TimeZone", "UTC")):
                su.execute(f'ALTER ROLE {w} IN DATABASE "{other}" SET {k} = \'{v}\'')
        hostile = copy.connect("fin")
        assert hostile.execute("SHOW DateStyle").fetchone()["DateStyle"] == "German, DMY"
        assert hostile.execute("SHOW TimeZone").fetchone()["TimeZone"] == zone
        hostile.close()
        days = _region_days()
        got, want = _writes(copy), _writes(plain)
        days |= _region_days()
        assert got == want
        a, b = _stored(copy), _stored(plain)
        for table in a:
            assert a[table] == b[table], (table, [x for x in a[table] if x not in b[table]][:3],
                                          [x for x in b[table] if x not in a[table]][:3])
        dated = {r["entry_date"].isoformat() for r in su.execute(
            "SELECT entry_date FROM fl.entry WHERE id = %s OR id IN (SELECT disburse_entry FROM fl.fund_request "
            "WHERE id = 2) OR id IN (SELECT settle_entry FROM fl.fund_request WHERE id = 2)",
            (got["reversal"],)).fetchall()}
        assert dated and dated <= days, (dated, days, zone)
        for db in (copy, plain):
            ok, found = _settings_findings(db)
            assert ok and found == [], found
    finally:
        plain.close()
        with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')
            for w in WRITERS:
                c.execute(f'ALTER ROLE {w} IN DATABASE "{copy.name}" RESET ALL')


@pytest.mark.parametrize("style", ["German, DMY", "ISO, MDY", "SQL, DMY"])
def test_a_document_date_reads_the_same_under_any_datestyle(copy: LedgerDB, style: str) -> None:  # noqa: F811
    """An ISO date is the same day under every DateStyle; a day-month order the caller's
    session would decide ('03/04/2023': 4 March under MDY, 3 April under DMY) is refused,
    never guessed (0056: the document functions read dates under 'ISO, YMD')."""
    import psycopg

    from tests.security.test_actors import _money_out

    rev = copy.connect("rev", autocommit=True)
    rev.execute(f"SET DateStyle = '{style}'")
    doc = json.loads(_money_out(f"ds-{style[:3]}", "1.00"))
    rev.execute("SELECT held_id FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),))
    day = copy.admin().execute("SELECT entry_date::text AS d FROM fl.pending_entry WHERE idempotency_key = %s",
                               (f"manual:rev:ds-{style[:3]}",)).fetchone()
    assert day is not None and day["d"] == "2023-03-10"
    doc["date"], doc["idempotency_key"] = "03/04/2023", f"ds2-{style[:3]}"
    with pytest.raises(psycopg.errors.DatetimeFieldOverflow):
        rev.execute("SELECT held_id FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),))


# ---- 2. check-digest lists the changes of mutable columns since the digest -----------------------

def _digest(db: LedgerDB, tmp: Path) -> Path:
    out = tmp / "digest.json"
    r = db.cli("audit", "digest", "--out", str(out), user="aud")
    assert r.exit_code == 0, r
    return out


def _check_digest(db: LedgerDB, digest: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = db.cli("audit", "check-digest", str(digest), "--json", user="aud")
    assert r.exit_code in (0, 1), r
    return r.exit_code, r.json()


def _changes(doc: dict, label: str) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in doc["changed_since_digest"]
            if f"{c['table']} " + ", ".join(f"{k}={v}" for k, v in c["record"].items()) == label]


def test_legitimate_changes_since_the_digest_are_listed_and_explained(copy: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    """After the digest the reviewer approves request 2 and finance confirms the held entry
    still held: check-digest lists both records, each column before and after, explained by
    the history version its user wrote; nothing is a finding."""
    digest = _digest(copy, tmp_path)
    code, doc = _check_digest(copy, digest)
    assert code == 0 and doc["changed_since_digest"] == [], doc["changed_since_digest"]
    held = copy.admin().execute("SELECT id FROM fl.pending_entry WHERE state = 'held' ORDER BY id").fetchone()["id"]
    copy.connect("rev", autocommit=True).execute("SELECT id FROM fl.request_approve(2, NULL)")
    copy.connect("fin", autocommit=True).execute("SELECT entry_id FROM fl.confirm_entry(%s)", (held,))
    code, doc = _check_digest(copy, digest)
    assert code == 0, [c for c in doc["checks"] if not c["ok"]]
    [req] = _changes(doc, "fl.fund_request id=2")
    assert req["explained"] is True and req["by"] == "rev" and req["role"] == "reviewer"
    assert req["columns"]["approved_by"] == {"before": None, "after": "rev"}
    assert req["columns"]["amount_approved"] == {"before": None, "after": 150000}
    assert req["columns"]["state"] == {"before": "submitted", "after": "approved"}
    assert isinstance(req["history_version"], int) and req["history_version"] > 0
    [dec] = _changes(doc, f"fl.pending_entry id={held}")
    assert dec["explained"] is True and dec["by"] == "fin" and dec["columns"]["state"]["after"] == "confirmed"
    assert set(req) == {"table", "record", "columns", "explained", "reason", "history_version", "history_id", "by",
                        "role", "at"}
    since = [c for c in doc["checks"] if c["name"] == "since_digest"]
    assert since and since[0]["ok"] and since[0]["checked"] > 5
    text = copy.cli("audit", "check-digest", str(digest), user="aud")
    assert text.exit_code == 0 and "fl.fund_request id=2" in text.stdout and "approved_by" in text.stdout, text


def test_a_tampered_mutable_column_since_the_digest_is_a_finding(copy: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    """After the digest the superuser rewrites request 1's approver (triggers on: recorded, as
    postgres's) and a register item's cleared amount with the triggers off (recorded by no
    version): check-digest lists both, neither explained, each a since_digest finding."""
    digest = _digest(copy, tmp_path)
    item = copy.admin().execute("SELECT id FROM fl.register_item WHERE kind = 'fiscal_arrears' ORDER BY id"
                                ).fetchone()["id"]
    su = copy.admin()
    su.execute("UPDATE fl.fund_request SET approved_by = 'rev2' WHERE id = 1")
    with su.transaction():
        su.execute("SET LOCAL session_replication_role = replica")
        su.execute("UPDATE fl.register_item SET cleared = amount WHERE id = %s", (item,))
    code, doc = _check_digest(copy, digest)
    assert code == 1
    [req] = _changes(doc, "fl.fund_request id=1")
    assert req["explained"] is False and req["by"] == "postgres"
    assert req["columns"] == {"approved_by": {"before": "rev", "after": "rev2"}}
    [it] = _changes(doc, f"fl.register_item id={item}")
    assert it["explained"] is False and it["history_version"] is None and "no history version" in it["reason"]
    found = {f["account"]: f["message"] for c in doc["checks"] if c["name"] == "since_digest" for f in c["findings"]}
    assert "not a fundledger user" in found["fl.fund_request id=1"]
    assert "cleared" in found[f"fl.register_item id={item}"], found
    text = copy.cli("audit", "check-digest", str(digest), user="aud")
    assert text.exit_code == 1 and "rev2" in text.stdout


def test_a_period_digest_lists_the_changes_since_the_close(copy: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    """The digest a period close files (close period --digest-dir) is read the same way: after
    the close the reviewer approves request 2 (explained), and the superuser lowers request 1's
    approved amount (not explained: postgres wrote it)."""
    r = copy.cli("close", "period", "2023-01", "--digest-dir", str(tmp_path), user="rev")
    assert r.exit_code == 0, r
    digest = tmp_path / "period-2023-01.json"
    assert digest.exists()
    copy.connect("rev", autocommit=True).execute("SELECT id FROM fl.request_approve(2, NULL)")
    copy.admin().execute("UPDATE fl.fund_request SET amount_approved = 100000 WHERE id = 1")
    code, doc = _check_digest(copy, digest)
    assert code == 1
    [req] = _changes(doc, "fl.fund_request id=2")
    assert req["explained"] is True and req["by"] == "rev"
    [bad] = _changes(doc, "fl.fund_request id=1")
    assert bad["explained"] is False and bad["by"] == "postgres"
    assert bad["columns"] == {"amount_approved": {"before": 150000, "after": 100000}}, bad
    assert [f["account"] for c in doc["checks"] if c["name"] == "since_digest" for f in c["findings"]] == \
        ["fl.fund_request id=1"]
