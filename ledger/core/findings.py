"""Findings: what ``verify`` and ``audit check-digest`` report, as values (STYLE §6).

A failed invariant is not an exception: each is a ``Finding`` naming the check, the
entry (with its voucher), request or account it concerns and what is wrong; a
``CheckResult`` collects one check's findings; a ``VerifyReport`` the whole run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

FINDINGS_CAP = 200          # findings listed per check; the rest are counted


def voucher_label(book: str | None, year: int | None, number: int | None) -> str | None:
    """``RES/2023-000005``: book, fiscal year and gapless number (凭证号)."""
    if book is None or year is None or number is None:
        return None
    return f"{book}/{year}-{number:06d}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One failed invariant, with whatever identifies what it concerns."""

    check: str
    message: str
    entry_id: int | None = None
    voucher: str | None = None
    request_id: int | None = None
    account: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "entry_id": self.entry_id, "voucher": self.voucher,
                "request_id": self.request_id, "account": self.account, "message": self.message}

    def subject(self) -> str:
        """The thing concerned, for a table column: ``entry 17 (RES/2023-000005)``."""
        if self.entry_id is not None:
            return f"entry {self.entry_id}" + (f" ({self.voucher})" if self.voucher else "")
        if self.request_id is not None:
            return f"request R{self.request_id}"
        if self.account is not None:
            return f"account {self.account}"
        return ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One invariant checked over ``checked`` rows; ``omitted`` findings were not listed."""

    name: str
    description: str
    checked: int
    findings: tuple[Finding, ...] = ()
    omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings and not self.omitted

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "ok": self.ok, "checked": self.checked,
                "findings": [f.as_json() for f in self.findings], "omitted": self.omitted}


@dataclass(frozen=True, slots=True)
class VerifyReport:
    checks: tuple[CheckResult, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.extra, "checks": [c.as_json() for c in self.checks]}


def result(name: str, description: str, checked: int, findings: Sequence[Finding], cap: int) -> CheckResult:
    """A check's result with at most ``cap`` findings listed (the rest counted)."""
    shown = tuple(findings[:cap])
    return CheckResult(name, description, checked, shown, max(0, len(findings) - cap))
