"""Backup and point-in-time recovery on the wheel's PostgreSQL 18 (issue 19).

Embedded server with ``init --archive``; ``backup`` (full, then incremental); post, note
T, file a digest, post more; the data directory is lost; ``restore --until T``: every
entry committed before T is there, none after, verify clean, the digest filed at T
matches; ``restore`` to the end: every acknowledged entry is there."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from ledger.store import embedded, pgtools
from tests.conftest import run_cli
from tests.helpers import collect, post

pytestmark = pytest.mark.db


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """Outside pytest's own temporary root, which other pytest sessions reset to 0700."""
    import tempfile

    p = Path(tempfile.mkdtemp(prefix="fl-pitr-"))
    try:
        yield p
    finally:
        shutil.rmtree(p, ignore_errors=True)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    h = tmp_path / "home"
    saved = {k: os.environ.get(k) for k in ("FUNDLEDGER_HOME", "FUNDLEDGER_DATABASE_URL")}
    os.environ["FUNDLEDGER_HOME"] = str(h)
    os.environ.pop("FUNDLEDGER_DATABASE_URL", None)
    try:
        yield h
    finally:
        embedded.stop(h, mode="immediate")
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def cli(*args: str, user: str | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    return run_cli(list(args), url=None, user=user, input=input)


def ok(*args: str, user: str | None = None):  # type: ignore[no-untyped-def]
    r = cli(*args, user=user)
    assert r.exit_code == 0, r
    return r


def keys(url: str) -> set[str]:
    with psycopg.connect(url) as c:
        # (manual keys are filed under their writer: manual:<user>:<key>, sql/0017)
        return {r[0].split(":", 2)[2] if r[0].startswith("manual:") else r[0]
                for r in c.execute("SELECT idempotency_key FROM fl.entry")}


def post_batch(url: str, prefix: str, n: int) -> list[str]:
    out = []
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as c:
        for i in range(n):
            k = f"{prefix}-{i}"
            post(c, collect(k, "2023-01-05", "230822", f"{100 + i}.00"), checker="fin")   # finance confirms
            out.append(k)
        c.execute("SELECT fl.seal_pending()")
    return out


def switch_and_wait_archived(url: str) -> None:
    """What archive_timeout does on a quiet server, now: close the WAL segment and wait for it."""
    with psycopg.connect(url, autocommit=True) as c:
        wal = c.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]  # type: ignore[index]
        for _ in range(300):
            last = c.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]  # type: ignore[index]
            if last is not None and last >= wal:
                return
            time.sleep(0.05)
    raise AssertionError(f"{wal} was not archived")


def test_backup_then_point_in_time_restore(home: Path, tmp_path: Path) -> None:
    archive, repo, digests = tmp_path / "archive", tmp_path / "backups", tmp_path / "digests"
    digests.mkdir()
    r = ok("init", "--archive", str(archive), "--json")
    assert r.json()["archive"]["restarted"] is True
    ok("user", "add", "fin", "--role", "finance")
    ok("user", "add", "o22", "--role", "officer", "--unit", "230822")
    st = embedded.status(home)
    url_o22 = f"postgresql://o22@/fundledger?host={st.socket_dir}"
    url_su = f"postgresql://postgres@/fundledger?host={st.socket_dir}"

    before_backup = post_batch(url_o22, "a", 5)
    full = ok("backup", str(repo), "--json").json()
    assert full["kind"] == "full" and full["verified"] is True
    # the verified backup is what db check reads
    checked = cli("db", "check", "--json").json()
    by = {i["name"]: i for i in checked["items"]}
    assert by["base_backup"]["status"] == "ok", by["base_backup"]
    assert by["archiving"]["status"] in ("ok", "warn"), by["archiving"]
    assert checked["ok"] is False  # the embedded server trusts local logins and has no standby
    assert by["pg_hba"]["status"] == "fail" and by["sync_standby"]["status"] == "fail"

    after_backup = post_batch(url_o22, "b", 5)
    incr = ok("backup", str(repo), "--json").json()
    assert incr["kind"] == "incremental" and incr["parent"] == full["label"]
    more = post_batch(url_o22, "c", 5)
    ok("audit", "digest", "--out", str(digests / "at-T.json"), user="fin")
    t = dt.datetime.fromisoformat(json.loads((digests / "at-T.json").read_text())["taken_at"])  # T: the digest's time
    time.sleep(0.05)
    later = post_batch(url_o22, "d", 5)
    switch_and_wait_archived(url_su)

    # the disk with the data directory is lost
    pgdata = st.pgdata
    embedded.stop(home, mode="immediate")
    shutil.rmtree(pgdata)

    to_t = tmp_path / "restored-T" / "pgdata"
    r = cli("restore", str(repo), "--into", str(to_t), "--until", t.isoformat(), "--digest", str(digests), "--json")
    assert r.exit_code == 0, r
    res = r.json()
    assert res["verify_ok"] is True and res["digest_ok"] is True and res["digest_later_entries"] == 0
    assert res["chain"] == [full["label"], incr["label"]]
    srv = pgtools.LocalServer(to_t, pgtools.wheel_bindir(), port=5432)
    srv.start()
    try:
        got = keys(srv.url(dbname="fundledger"))
    finally:
        srv.stop()
    assert got == set(before_backup + after_backup + more), "everything committed before T and nothing after"

    # never over a live (or any non-empty) directory
    again = cli("restore", str(repo), "--to", str(to_t))
    assert again.exit_code != 0 and "not empty" in again.stderr

    to_end = tmp_path / "restored-end" / "pgdata"
    res = ok("restore", str(repo), "--into", str(to_end), "--json").json()
    assert res["verify_ok"] is True
    srv = pgtools.LocalServer(to_end, pgtools.wheel_bindir(), port=5432)
    srv.start()
    try:
        got = keys(srv.url(dbname="fundledger"))
        with psycopg.connect(srv.url(dbname="fundledger")) as c:
            actions = [r[0] for r in c.execute("SELECT action FROM fl.operation_log ORDER BY id")]
    finally:
        srv.stop()
    assert got == set(before_backup + after_backup + more + later), "every acknowledged entry"
    assert actions == ["backup", "backup", "restore"]
    assert json.loads((repo / full["label"] / "fundledger-backup.json").read_text())["verified"] is True
    assert dt.datetime.fromisoformat(res["last_entry_at"].isoformat() if hasattr(res["last_entry_at"], "isoformat")
                                     else res["last_entry_at"]) > t
