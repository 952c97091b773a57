"""Every bank_account_id names its bank account (ATTACK9 W1), judged in Python.

0063 replaced the four foreign keys to ``fl.bank_account`` (from ``fl.account``,
``fl.bank_statement``, ``fl.statement_line``, ``fl.recon_match``) by a statement trigger
that locks nothing (``fl.bank_account_exists``). A trigger switched off for one statement and
on again validates nothing afterwards, and the catalogue is clean again: a statement line on
bank account 987654 (none such), or a county's share of the special account moved onto it
(with ``account_identity_fixed`` off for one UPDATE), put collections on no physical bank
account while both verdicts held. This check asks the rows themselves:

* every ``bank_account_id`` of a bank statement, a statement line and a reconciliation match
  names a bank account; a line's is its statement's; a match's line is a line of the
  match's bank account;
* every ledger account's bank account exists and is the one of its (book, holder, unit):
  same book and holder, the account's unit (none for a pooled holder) — and an account with
  a holder has one. (Bank accounts are unique per (book, holder, unit), so this fixes the id:
  an account moved onto another bank account is named; the account's own book, chart, unit,
  holder and component are in every sealed posting's canonical text.)

The statements, lines, matches and bank accounts are read as the latest versions of their
chained histories (the ``histories`` check proves each table equals them), the accounts as
the proof reads them — online and in an export alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ledger.core import jsonfast
from ledger.core.findings import CheckResult, Finding, result, said

NAME = "bank_refs"
DESCRIPTION = ("every bank_account_id names a bank account (0063 checks it by a trigger, not a foreign key): each "
               "bank statement's, statement line's and reconciliation match's; a line's is its statement's, a "
               "match's line is of the match's bank account; each ledger account's is the bank account of its "
               "book, holder and unit")
TABLES = ("fl.bank_account", "fl.bank_statement", "fl.statement_line", "fl.recon_match", "fl.holder")


def _rows(latest: Mapping[str, Mapping[str, str]], table: str) -> Iterable[dict[str, Any]]:
    for text in latest.get(table, {}).values():
        try:
            row = jsonfast.loads(text)
        except ValueError:
            continue                    # an unreadable version is the histories check's to name
        if isinstance(row, dict):
            yield row


def _id(v: Any) -> str:
    return "" if v is None else str(v)


def check(latest: Mapping[str, Mapping[str, str]], accounts: Iterable[Sequence[str]],
          cap: int) -> CheckResult:
    """``latest``: table -> key -> the latest history version's JSON text
    (``histories.Scan.latest``); ``accounts``: fl.account rows in ``proof.TABLES['account']``
    order (id, book, chart_code, unit, holder, component, bank_account_id, ...)."""
    findings: list[Finding] = []
    checked = 0
    has_banks = "fl.bank_account" in latest
    banks = {_id(r.get("id")): r for r in _rows(latest, "fl.bank_account")}
    pooled = {str(r.get("code")): bool(r.get("pooled")) for r in _rows(latest, "fl.holder") if "pooled" in r}

    def missing(bank: str) -> bool:
        return has_banks and bank not in banks

    statements: dict[str, str] = {}
    for r in _rows(latest, "fl.bank_statement"):
        checked += 1
        sid, bank = _id(r.get("id")), _id(r.get("bank_account_id"))
        statements[sid] = bank
        if missing(bank):
            findings.append(Finding(NAME, said("bank statement {sid} ({value}) is of bank account {bank}, which does not exist", sid=sid, value=r.get('file_name'), bank=bank), account=said("fl.bank_statement id={sid}", sid=sid)))
    lines: dict[str, str] = {}
    for r in _rows(latest, "fl.statement_line"):
        checked += 1
        lid, bank, sid = _id(r.get("id")), _id(r.get("bank_account_id")), _id(r.get("statement_id"))
        lines[lid] = bank
        where = f"fl.statement_line id={lid}"
        if missing(bank):
            findings.append(Finding(NAME, said("statement line {lid} (statement {sid}, {value}, {value2} {value3} fen, {value4}) is on "
                                               "bank account {bank}, which does not exist", lid=lid, sid=sid, value=r.get('line_date'), value2=r.get('direction'), value3=r.get('amount'), value4=r.get('reference'), bank=bank), account=where))
        elif sid not in statements:
            findings.append(Finding(NAME, said("statement line {lid} names statement {sid}, which does not exist", lid=lid, sid=sid),
                                    account=where))
        elif statements[sid] != bank:
            findings.append(Finding(NAME, said("statement line {lid} is on bank account {bank} but its statement {sid} is of bank "
                                               "account {value}", lid=lid, bank=bank, sid=sid, value=statements[sid]), account=where))
    for r in _rows(latest, "fl.recon_match"):
        checked += 1
        mid, bank, lid = _id(r.get("id")), _id(r.get("bank_account_id")), _id(r.get("statement_line_id"))
        where = f"fl.recon_match id={mid}"
        if missing(bank):
            findings.append(Finding(NAME, said("reconciliation match {mid} (group {value}) is on bank account {bank}, which does not "
                                               "exist", mid=mid, value=r.get('match_group'), bank=bank), account=where))
        elif lid and lid not in lines:
            findings.append(Finding(NAME, said("reconciliation match {mid} names statement line {lid}, which does not exist", mid=mid, lid=lid), account=where))
        elif lid and lines[lid] != bank:
            findings.append(Finding(NAME, said("reconciliation match {mid} is on bank account {bank} but its statement line {lid} is on "
                                               "bank account {value}", mid=mid, bank=bank, lid=lid, value=lines[lid]), account=where))
    for a in accounts:
        checked += 1
        book, unit, holder, bank = a[1], a[3], a[4], a[6]
        label = ":".join(x for x in (a[1], a[2], a[3], a[4], a[5]) if x)
        if not bank:
            if holder and has_banks:
                findings.append(Finding(NAME, said("account {label} has holder {holder} but no bank account", label=label, holder=holder),
                                        account=label))
            continue
        b = banks.get(bank)
        if b is None:
            if has_banks:
                findings.append(Finding(NAME, said("account {label} is on bank account {bank}, which does not exist: its money is on no "
                                                   "physical bank account", label=label, bank=bank), account=label))
            continue
        want_unit = None if pooled.get(holder, b.get("unit") is None) else unit
        if (b.get("book"), b.get("holder"), b.get("unit")) != (book, holder, want_unit):
            bu = b.get("unit")
            findings.append(Finding(NAME, said("account {label} is on bank account {bank} ({value} {value2}{value3}), not the bank "
                                               "account of its book, holder and unit", label=label, bank=bank, value=b.get('book'), value2=b.get('holder'), value3=':' + str(bu) if bu else ''), account=label))
    return result(NAME, DESCRIPTION, checked, findings, cap)
