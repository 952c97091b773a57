"""``fundledger balance``'s body, without Typer: run by its Typer command (cli/cmd_core.py)
and by the read commands' fast path (cli/entry.py), so both print the same thing."""

from __future__ import annotations

from typing import Any

from cli.context import console, emit_json, parse_date_opt, plain, read, side_text
from ledger.core.money import format_yuan
from ledger.core.shapes import to_json
from ledger.i18n import _, get_lang
from ledger.store import accounts


def shape_name(r: Any, lang: str | None) -> str:
    """A shape's name (``name_zh``/``name_en``) in ``lang`` or the language in force."""
    return str(r.name_en if (lang or get_lang()) == "en" else r.name_zh)


def balance(account: str, as_of: str | None, json_out: bool) -> None:
    """One account's balance, now or as of a past date."""
    r = read(lambda c: accounts.balance(c, account, parse_date_opt(as_of, "as-of")))
    # Shown on the account's normal side: a fund (credit-normal) in deficit reads "Dr", not a positive figure.
    if json_out:
        emit_json(to_json(r))
    else:
        text = _("{account} {name}: {side} {amount} (debits {debits}, credits {credits}; normal side {normal})")
        if r.as_of:
            text = _("{account} {name} as of {as_of}: {side} {amount} (debits {debits}, credits {credits}; "
                     "normal side {normal})")
        console.print(text.format(account=plain(r.account), name=plain(shape_name(r, None)), as_of=r.as_of,
                                  side=side_text(r.side), amount=format_yuan(r.amount),
                                  debits=format_yuan(r.debits), credits=format_yuan(r.credits),
                                  normal=side_text(r.normal_side)))
        if r.government_share_outstanding:
            console.print(_("beside it: government shortfall shares owed to the fund {amount} (obligations register; "
                            "not on the books, counted by the shortfall rule)").format(
                amount=format_yuan(r.government_share_outstanding)))
