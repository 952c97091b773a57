"""The printable identity of a ledger account (BOOK:CODE:UNIT[:HOLDER[:COMPONENT]]) and
its parser, apart from the entry documents (``ledger.core.entries``): ``balance`` reads
an account by its key and needs neither the drafts nor their dataclasses (issue 24)."""

from __future__ import annotations

from ledger.errors import BadInput
from ledger.i18n import _


def account_key(book: str, code: str, unit: str, holder: str = "", component: str = "") -> str:
    """The printable identity of a ledger account: ``RES:1003:230822:special``."""
    parts = [book, code, unit, holder, component]
    while parts and parts[-1] == "":
        parts.pop()
    return ":".join(parts)


def parse_account_key(text: str) -> tuple[str, str, str, str, str]:
    parts = text.strip().split(":")
    if len(parts) < 3 or len(parts) > 5 or not all(parts[:3]):
        raise BadInput(_("'{text}' is not an account: write BOOK:CODE:UNIT[:HOLDER[:COMPONENT]] "
                         "(e.g. RES:1003:230822:special) or an account id").format(text=text))
    parts += [""] * (5 - len(parts))
    return parts[0], parts[1], parts[2], parts[3], parts[4]
