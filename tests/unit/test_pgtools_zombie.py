"""A postmaster that died but was not reaped is not running (pgtools.LocalServer.pid).

Its parent after pg_ctl exits is whoever adopts orphans; one that does not reap (an init
that never waits, a child subreaper that waits only at the end) leaves it a zombie, which
still answers ``kill(pid, 0)``. Taken for running, fencing the old primary waited on it
with ``pg_ctl stop`` twice (fast, then immediate: 60 s each) and the writers' failover
window passed before the standby was promoted (tests/reliability/test_failover.py under a
subreaper: "no write acknowledged on the new primary")."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.store import pgtools

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _server(tmp_path: Path, pid: int) -> pgtools.LocalServer:
    (tmp_path / "postmaster.pid").write_text(f"{pid}\n{tmp_path}\n")
    return pgtools.LocalServer(pgdata=tmp_path, bdir=tmp_path)


def test_zombie_postmaster_is_not_running(tmp_path: Path) -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"])   # exits; not waited for: a zombie
    try:
        end = time.monotonic() + 30
        while not pgtools.is_zombie(p.pid):
            assert time.monotonic() < end, "the child did not exit"
            time.sleep(0.02)
        srv = _server(tmp_path, p.pid)
        assert srv.pid() is None and not srv.running()
        srv.stop()      # nothing to stop: no pg_ctl (bdir holds none) is run
    finally:
        p.wait()


def test_live_postmaster_is_running(tmp_path: Path) -> None:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        srv = _server(tmp_path, p.pid)
        assert srv.pid() == p.pid and srv.running()
    finally:
        p.kill()
        p.wait()
    assert not _server(tmp_path, p.pid).running()


def test_start_drops_a_zombie_postmasters_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old primary, killed and unreaped, starts again: its lock file is stale. pg_ctl
    (here a stand-in) is run only once it is gone: the real postmaster refuses to start
    while the pid in postmaster.pid answers kill(pid, 0), as a zombie's does."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    seen: list[bool] = []
    monkeypatch.setattr(pgtools, "traversable", lambda path: None)
    monkeypatch.setattr(pgtools, "run", lambda bdir, tool, args, **kw: seen.append(
        (tmp_path / "postmaster.pid").exists()))
    try:
        end = time.monotonic() + 30
        while not pgtools.is_zombie(p.pid):
            assert time.monotonic() < end, "the child did not exit"
            time.sleep(0.02)
        sock = tmp_path / ".s.PGSQL.5432.lock"
        sock.write_text(f"{p.pid}\n{tmp_path}\n")
        _server(tmp_path, p.pid).start()
        assert seen == [False] and not sock.exists()
    finally:
        p.wait()


def test_start_keeps_a_live_postmasters_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    monkeypatch.setattr(pgtools, "run", lambda *a, **kw: pytest.fail("a running server was started again"))
    try:
        _server(tmp_path, p.pid).start()
        assert (tmp_path / "postmaster.pid").exists()
    finally:
        p.kill()
        p.wait()
