"""The shape of the entries the import workflows write, re-derived by kind (ATTACK10 X7).

A workflow entry's kind and key say which operation wrote it; the duty rules of the journal
(an officer's entry on a city figure or into a bank account is the city's to confirm: 0058,
0064, 0067) were judged for manual entries only, and an officer's ``payments`` entry was
judged by its key's unit alone. A definer function made for one call could write, in an
officer's session, a ``payments`` entry of any shape — Dr 1004 county_exp / Cr 5001: money into
the county's bank account and its expenditure cut, with no one from the city, no import batch
and no register line — and both verdicts were whole.

So every entry of a kind an import writes is asked whether it is what that import writes
(the legs as ``fl.import_payments`` / ``fl.import_collections`` have written them since the
history began):

* ``payments`` (``payment_leg``): debits only benefit expenditure (5001.<category>, 5101; no
  holder), credits only an expenditure account 1004 — ``county_exp`` when its key says the
  county paid, ``city_exp`` when the city did, and never ``city_exp`` in an officer's session
  (a county's officer pays from its own county account; the city's claims are the bureau's) —
  every leg for its key's unit; every debit carries its claim's reference, and the register
  (fl.import_line, the payment namespaces) files exactly that many references for the entry
  (a held payment the city confirmed: at least that many references of its batch with no entry
  yet), of a batch of kind ``payments`` imported by the entry's maker.
* ``collections`` (``collection_leg``): debits only the special account (1003 special), credits
  only revenue (4001 contributions, 4101.* subsidies, 4501 other), every leg for one unit.

Openings are held for the city's confirmation whatever they touch (``rules.ALWAYS_HELD``): their
legs are the confirmer's word, judged by ``maker_checker`` and ``workflows`` (opening_city_only).
The rest of a workflow's rules (claims paid once, a unit's own bank account, maker-checker) are
``ledger.core.rules``'s. Pure: no database, no I/O.
"""

from __future__ import annotations

SHAPED_KINDS = frozenset({"payments", "collections"})
EXPENDITURE_HOLDERS = {"county": "county_exp", "city": "city_exp"}
REVENUE_CHARTS = ("4001", "4101", "4501")


def payment_leg(side: str, chart: str, holder: str, paid_from: str, officer: bool) -> str | None:
    """Why a leg is not one ``fl.import_payments`` writes (None if it is): ``paid_from`` is the
    key's ('county' or 'city'), ``officer`` whether the entry was written in an officer's session."""
    top = chart.split(".", 1)[0]
    if side == "D":
        if ((top == "5001" and chart != "5001") or chart == "5101") and holder == "":
            return None
        return ("a payments entry debits only benefit expenditure (5001.<category> or 5101)"
                + ("; a debit on a bank account is money into it" if top in ("1001", "1002", "1003", "1004", "1005")
                   or holder else ""))
    if chart != "1004" or holder not in ("county_exp", "city_exp"):
        return "a payments entry credits only an expenditure account (1004 county_exp or city_exp)"
    if officer and holder != "county_exp":
        return ("an officer's payments are paid from its own county expenditure account (1004 county_exp); the "
                "city expenditure account pays only the city bureau's imports")
    want = EXPENDITURE_HOLDERS.get(paid_from)
    if want is not None and holder != want:
        return f"its key says it was paid from the {paid_from}'s account ({want}), not {holder}"
    return None


def collection_leg(side: str, chart: str, holder: str) -> str | None:
    """Why a leg is not one ``fl.import_collections`` writes (None if it is)."""
    if side == "D":
        return None if chart == "1003" and holder == "special" else (
            "a collections entry debits only the special account (1003 special)")
    if holder == "" and chart.split(".", 1)[0] in REVENUE_CHARTS and chart != "4101":
        return None
    return "a collections entry credits only revenue (4001, 4101.<level>, 4501)"


def payment_key(key: str) -> tuple[str, str, bool]:
    """(unit, paid_from, the bureau's) of a payments key
    ``payments:<date>:<unit>:<book>:<component>:<paid_from>:[bureau:]<refs>``."""
    parts = key.split(":")
    unit = parts[2] if len(parts) > 2 else ""
    paid_from = parts[5] if len(parts) > 5 else ""
    return unit, paid_from, len(parts) > 6 and parts[6] == "bureau"


def register_problem(n_debits: int, n_refs: int, filed: int, unfiled: int | None) -> str | None:
    """What the register says against a payments entry's ``n_debits`` debit lines (``n_refs`` of
    them with a reference): ``filed`` references name the entry in its namespace (the most in
    either of its unit's payment namespaces: 0043 filed the bureau's old lines twice); ``unfiled``
    (a confirmed held payment): its batch's references with no entry yet, else None."""
    if n_refs < n_debits:
        return f"{n_debits - n_refs} of its {n_debits} debit line(s) carry no claim reference"
    if unfiled is not None:
        if unfiled < n_debits:
            return (f"its {n_debits} claim line(s) were held for the city's confirmation, but its batch filed "
                    f"{unfiled} reference(s) awaiting an entry")
        return None
    if filed != n_debits:
        return (f"its {n_debits} claim line(s) but the import register files {filed} reference(s) for it" if filed
                else "no line of the import register names it (every claim an import pays is filed there)")
    return None
