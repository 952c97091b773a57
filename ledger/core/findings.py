"""Findings: what ``verify`` and ``audit check-digest`` report, as values (STYLE §6).

A failed invariant is not an exception: each is a ``Finding`` naming the check, the
entry (with its voucher), request or account it concerns and what is wrong; a
``CheckResult`` collects one check's findings; a ``VerifyReport`` the whole run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

FINDINGS_CAP = 200          # findings listed per check; the rest are counted


class Said(str):
    """A finding's text as a catalogue message with its fields (ATTACK21 N7).

    The string itself is the English text, ``msgid.format(**fields)`` — exactly what an
    f-string gave before: the record that ``--json``, the offline export, a filed digest
    and every comparison across runs keep and compare, byte for byte. ``worded`` renders
    it in the language in force through the catalogue, for a person reading the table."""

    msgid: str
    fields: dict[str, Any]

    def __new__(cls, msgid: str, fields: dict[str, Any]) -> Said:
        self = super().__new__(cls, msgid.format(**fields) if fields else msgid)
        self.msgid, self.fields = msgid, fields
        return self

    def __reduce__(self) -> tuple[Any, ...]:        # findings cross process boundaries
        return (Said, (self.msgid, self.fields))


def said(msgid: str, /, **fields: Any) -> Said:
    """A finding's text: ``said("dated {date}, before …", date=d)`` (extracted by ``make i18n``
    like ``_()``; never an f-string inside — the fields go in as keywords)."""
    return Said(msgid, fields)


def said_joined(sep: str, items: Iterable[str]) -> Said:
    """``sep.join(items)`` whose items, each a ``said`` message, are worded one by one (the joined
    text is no message of the catalogue: it renders as the items, translated, between ``sep``)."""
    fields = {f"p{i}": it for i, it in enumerate(items)}
    esc = sep.replace("{", "{{").replace("}", "}}")
    return Said(esc.join("{" + k + "}" for k in fields), fields)


def worded(message: str, lang: str | None = None) -> str:
    """A finding's text as a person reads it: a ``Said`` through the catalogue (its fields that
    are ``Said`` too, each in turn), any other text as it is."""
    if not isinstance(message, Said):
        return message
    from ledger.i18n import translate

    fields = {k: worded(v, lang) if isinstance(v, Said) else v for k, v in message.fields.items()}
    text = translate(message.msgid, lang)
    try:
        return text.format(**fields) if fields else text
    except (KeyError, IndexError, ValueError):      # a translation that lost a placeholder
        return str(message)


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

    def text(self, lang: str | None = None) -> str:
        """What is wrong, as a person reads it (the language in force); ``message`` is the record."""
        return worded(self.message, lang)

    def subject_text(self) -> str:
        """``subject()`` in the language in force, for the table."""
        from ledger.i18n import _

        if self.entry_id is not None:
            return (_("entry {id} ({voucher})") if self.voucher else _("entry {id}")).format(
                id=self.entry_id, voucher=self.voucher)
        if self.request_id is not None:
            return _("request R{id}").format(id=self.request_id)
        if self.account is not None:
            return _("account {account}").format(account=worded(self.account))
        return ""

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
