"""Planner settings pinned for one statement inside the caller's transaction.

Verify's big statements must not choose their plan from estimates: after a bulk load
without ANALYZE, or under the auditor's row-security quals (which the planner guesses
keep a few rows), the estimates are wrong by orders of magnitude. Where one shape is
right whatever the sizes (a hash aggregate over a sequential scan; an index-ordered
scan feeding an ordered aggregate), the caller pins it here for that statement only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ledger.store.db import Conn

# Only boolean enable_* switches: their names are checked here and never come from users.
_SWITCHES = frozenset({"enable_seqscan", "enable_indexscan", "enable_bitmapscan", "enable_nestloop",
                       "enable_hashjoin", "enable_mergejoin", "enable_sort", "enable_hashagg"})


@contextmanager
def pinned(conn: Conn, **switches: bool) -> Iterator[None]:
    """``SET LOCAL`` each switch for the statements in the block, then put back what was there."""
    unknown = set(switches) - _SWITCHES
    if unknown:
        raise ValueError(f"not a planner switch: {', '.join(sorted(unknown))}")
    before = {}
    for name, on in switches.items():
        row = conn.execute(f"SELECT current_setting('{name}') AS v").fetchone()
        before[name] = row["v"] if row else "on"
        conn.execute(f"SET LOCAL {name} = {'on' if on else 'off'}")
    try:
        yield
    finally:
        for name, v in before.items():
            conn.execute(f"SET LOCAL {name} = {'on' if v == 'on' else 'off'}")
