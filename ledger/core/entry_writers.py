"""Who wrote each journal entry, judged like the workflow tables' versions (ATTACK10 X10).

``actors`` (ATTACK6 T18) names a version of a workflow table written by a login that is not a
registered fundledger user. Journal entries were not judged so: the database administrator
called the ledger's own internal writer ``fl._post`` in its own session — every trigger on,
nothing replaced — and a ``collections`` entry of ¥900,000 was sealed with ``created_by =
postgres``; both verdicts were whole. This check asks, of every entry written since the
history (``legacy`` entries, recorded by a migration's BACKFILL, are not judged):

* **registered**: its ``created_by`` (the maker: ``fl.entry_stamp`` sets it to the writing
  session's login, or to the held entry's maker when it is confirmed from one) and the actor
  of its fl.entry history INSERT version (the writing session's login, which since 0047
  cannot be switched) are registered fundledger users;
* **the writer's own**: that actor is the entry's writer — its maker, or for an entry
  confirmed from a held one, the confirmer its source names (``source.confirmed_by``);
* **with the role**: the maker's role is one that the kind's API function requires
  (``KIND_ROLES``: the ``fl.require_role`` of the function that writes that kind, as the
  latest migration defines it). Who may *confirm* a held entry is ``maker_checker``'s.

Pure: the entries stream past (``Writers.entry``), the history's INSERT actors come from the
scan (``histories.Scan.entry_writers``), the users from the verdict's own fl.app_user rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ledger.core.findings import said

CHECK = "entry_writers"
DESCRIPTION = ("who wrote every journal entry: its maker (created_by) and the login of its history INSERT version are "
               "registered fundledger users, that login is the entry's writer (its maker, or the confirmer of the held "
               "entry it came from), and the maker's role is one the function writing that kind requires (KIND_ROLES) "
               "— an entry no fundledger command wrote (the database administrator's own login calling the ledger's "
               "internal writer) is named")

_CITY = frozenset({"reviewer", "finance"})
# Each kind -> the roles its API function requires of the maker (fl.require_role in the
# function's latest migrated definition; tests/unit/test_entry_writers.py reads sql/ and
# fails when a function's roles and this table part).
KIND_ROLES: dict[str, frozenset[str]] = {
    "manual": frozenset({"officer", "reviewer", "finance"}),      # fl.post_entries: 'post entries'
    "reversal": _CITY,                                            # fl.reverse_entry: 'reverse entries'
    "collections": _CITY,                                         # 'import collections and subsidies' (0039)
    "payments": frozenset({"officer", "reviewer"}),               # 'import benefit payments'
    "opening": frozenset({"reviewer"}),                           # handover / city proper's opening balances
    "handover_transfer": frozenset({"finance"}),                  # 'transfer a county's legacy funds …'
    "preallocation": frozenset({"reviewer"}),                     # 'pre-allocate funds (预拨)'
    "interest": frozenset({"finance"}),                           # 'allocate special-account interest'
    "register_clear": _CITY,                  # arrears, government payments: finance; unpaid claims: reviewer
    "year_close": frozenset({"reviewer"}),                        # 'close a year'
    "adjfund_remit": frozenset({"finance"}),                      # 'remit to the provincial adjustment fund'
    "adjfund_alloc": frozenset({"finance"}),                      # 'record an adjustment-fund allocation'
    "request_disburse": frozenset({"finance"}),                   # 'disburse fund requests'
    "request_settle": frozenset({"reviewer"}),                    # 'settle fund requests'
}
# The function and role text each kind's row is read from (the unit test's evidence).
KIND_FUNCTIONS: dict[str, str] = {
    "manual": "post entries", "reversal": "reverse entries", "collections": "import collections and subsidies",
    "payments": "import benefit payments", "opening": "record handover opening balances",
    "handover_transfer": "transfer a county''s legacy funds up to the special account (上划)",
    "preallocation": "pre-allocate funds (预拨)", "interest": "allocate special-account interest",
    "year_close": "close a year", "adjfund_remit": "remit to the provincial adjustment fund",
    "adjfund_alloc": "record an adjustment-fund allocation", "request_disburse": "disburse fund requests",
    "request_settle": "settle fund requests",
}

Add = Callable[..., None]


class Writers:
    """Fed each entry as it streams past (``entry``), then the history's INSERT actors
    (``history``); ``finish`` compares them. ``users``: name -> role."""

    def __init__(self, users: Mapping[str, str], add: Add) -> None:
        self.users = users
        self._add = add
        self.checked = 0
        self.by_actor: Mapping[str, Iterable[int]] | None = None

    def add(self, message: str, eid: int) -> None:
        self._add(CHECK, message, eid)

    def entry(self, eid: int, kind: str, key: str, created_by: str) -> None:
        """An entry written since the history: its maker registered, with its kind's role."""
        self.checked += 1
        role = self.users.get(created_by)
        if role is None:
            self.add(said("{kind} entry {key} was made by {created_by}, who is not a fundledger user: no "
                          "fundledger command wrote it (the database administrator's own login, or a login never "
                          "registered, calling the ledger's internal writer)", kind=kind, key=key, created_by=created_by), eid)
            return
        roles = KIND_ROLES.get(kind)
        if roles is None:   # (0090) entry_kind_known, a trigger's rule since: suspended for one call, seen here
            self.add(said("entry {key} is of kind {kind!r}, which no fundledger command writes (the kinds are "
                          "{value})", key=key, kind=kind, value=', '.join(sorted(KIND_ROLES))), eid)
        elif role not in roles:
            self.add(said("{kind} entry {key} was made by {created_by} (role {role}), but the function that writes "
                          "{kind} entries requires the {value} role", kind=kind, key=key, created_by=created_by, role=role, value=' or '.join(sorted(roles))), eid)

    def history(self, by_actor: Mapping[str, Iterable[int]] | None) -> None:
        """actor -> the entries whose history INSERT version that login wrote
        (``histories.Scan.entry_writers``); None: no history to read (an old export)."""
        self.by_actor = by_actor

    def finish(self, writer_of: Callable[[int], str | None], legacy: Iterable[int] | frozenset[int]) -> None:
        """Each INSERT version's actor: registered, and the entry's writer (``writer_of``:
        the maker, or the confirmer of a held entry; None for an entry not read)."""
        if self.by_actor is None:
            return
        old = legacy if isinstance(legacy, (set, frozenset)) else set(legacy)
        for actor, ids in sorted(self.by_actor.items()):
            known = actor in self.users
            for eid in ids:
                if eid in old:
                    continue
                if not known:
                    self.add(said("the history records entry {eid} as inserted by {actor}, who is not a fundledger user: "
                                  "no fundledger command wrote it (the database administrator's own login)", eid=eid, actor=actor), eid)
                    continue
                want = writer_of(eid)
                if want is not None and want != actor:
                    self.add(said("the history records entry {eid} as inserted by {actor}, but the entry names {want} as "
                                  "its writer (its maker, or the confirmer of its held entry): the stamp was not the "
                                  "writer's own", eid=eid, actor=actor, want=want), eid)
