"""The message catalogue: every text a person reads, in Chinese (the default) or English.

Messages are written in English in the code and marked for extraction: ``_("…")`` where
the text is used at once, ``N_("…")`` where it is only declared (help texts, labels) and
translated later. Babel extracts them into ``ledger/locale/messages.pot`` (``make i18n``);
``ledger/locale/<lang>/LC_MESSAGES/fundledger.po`` hold the translations and are compiled
to ``.mo`` files at build time (``make``, ``pip install``). A test fails when a message
lacks its Chinese translation.

Which language (the first that says):
``--lang`` > ``FUNDLEDGER_LANG`` > a zh or en locale (LC_ALL, LC_MESSAGES, LANG) > zh.
``LANG=C.UTF-8`` names no language, so it means Chinese. JSON keys and codes never change.
"""

from __future__ import annotations

import gettext as _gettext
import io
import marshal
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

LANGS = ("zh", "en")
DOMAIN = "fundledger"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current = "zh"
_catalogues: dict[str, _gettext.NullTranslations] = {}


class UnknownLanguage(ValueError):
    pass


def locale_lang(env: Mapping[str, str] | None = None) -> str | None:
    """zh or en from the POSIX locale variables (the first one set wins), else None."""
    env = os.environ if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            head = value.split(".")[0].split("_")[0].split("-")[0].lower()
            return head if head in LANGS else None
    return None


def resolve(cli_lang: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The language in force: ``--lang`` > FUNDLEDGER_LANG > the locale > zh."""
    env = os.environ if env is None else env
    for source, value in (("--lang", cli_lang), ("FUNDLEDGER_LANG", env.get("FUNDLEDGER_LANG"))):
        if value:
            lang = value.strip().lower()
            if lang not in LANGS:
                raise UnknownLanguage(_("{source} must be zh or en, got '{value}'").format(source=source, value=value))
            return lang
    return locale_lang(env) or "zh"


def set_lang(lang: str) -> None:
    global _current
    if lang not in LANGS:
        raise UnknownLanguage(f"language must be zh or en, got '{lang}'")
    _current = lang


def get_lang() -> str:
    return _current


def _load(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue; in a source checkout whose .po is newer than its .mo (or has
    no .mo yet), the .po itself, so an edited translation shows without a rebuild."""
    if lang in _catalogues:
        return _catalogues[lang]
    base = LOCALE_DIR / lang / "LC_MESSAGES"
    mo, po = base / f"{DOMAIN}.mo", base / f"{DOMAIN}.po"
    cat: _gettext.NullTranslations
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        cat = _from_mo(mo)
    elif po.exists():
        cat = _PoCatalogue(po)
    else:
        cat = _gettext.NullTranslations()
    _catalogues[lang] = cat
    return cat


#: Bumped when the parsed form's layout changes (a cache of another layout is ignored).
_PARSED_FORM = 1


def parsed_path(mo: Path) -> Path:
    """Where ``write_parsed`` keeps ``mo``'s parsed form: beside it."""
    return mo.with_name(mo.name + ".marshal")


def _parsed(data: bytes) -> tuple[int, int, int, dict[object, str], dict[str, str], str | None]:
    """What parsing the .mo bytes ``data`` gives: its catalogue, headers and charset,
    keyed to the bytes (layout, length, CRC-32) so a stale parsed form is recognised."""
    cat = _gettext.GNUTranslations(io.BytesIO(data))
    return (_PARSED_FORM, len(data), zlib.crc32(data), dict(cat._catalog),  # type: ignore[attr-defined]
            dict(cat._info), cat._charset)  # type: ignore[attr-defined]


def write_parsed(mo: Path) -> Path:
    """Write ``mo``'s parsed form beside it (the build does, after compiling the .mo).
    Python's gettext parses the whole .mo on every start — 0.02 G instructions for the
    Chinese one, which every Chinese command and every report carrying both languages
    pays; loading the parsed form with ``marshal`` is a few per cent of that."""
    out = parsed_path(mo)
    out.write_bytes(marshal.dumps(_parsed(mo.read_bytes())))
    return out


def _from_mo(mo: Path) -> _gettext.GNUTranslations:
    """The catalogue of ``mo``: from its parsed form when that was made from these very
    bytes (same length and CRC-32: a .mo compiled again without it is parsed), else by
    parsing the .mo as gettext does."""
    data = mo.read_bytes()
    try:
        form, size, crc, catalog, info, charset = marshal.loads(parsed_path(mo).read_bytes())
        if form != _PARSED_FORM or size != len(data) or crc != zlib.crc32(data):
            raise ValueError("stale")
    except (OSError, ValueError, EOFError, TypeError):
        return _gettext.GNUTranslations(io.BytesIO(data))
    cat = _gettext.GNUTranslations()
    cat._catalog = catalog  # type: ignore[attr-defined]
    cat._info, cat._charset = info, charset  # type: ignore[attr-defined]
    cat.plural = lambda n: int(n != 1)  # type: ignore[attr-defined]  # gettext's default
    plural = info.get("plural-forms", "")
    if plural:
        cat.plural = _gettext.c2py(plural.split(";")[1].split("plural=")[1])  # type: ignore[attr-defined]
    return cat


class _PoCatalogue(_gettext.NullTranslations):
    def __init__(self, po: Path) -> None:
        super().__init__()
        from babel.messages.pofile import read_po

        with po.open("rb") as f:
            catalog = read_po(f)
        self._map: dict[str, str] = {}
        for m in catalog:
            if m.id and m.string and not m.fuzzy:
                key = m.id if isinstance(m.id, str) else m.id[0]
                val = m.string if isinstance(m.string, str) else m.string[0]
                self._map[key] = val

    def gettext(self, message: str) -> str:
        return self._map.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self._map.get(msgid1) or (msgid1 if n == 1 else msgid2)


def translate(message: str, lang: str | None = None) -> str:
    """``message`` in ``lang`` (default: the language in force)."""
    if not message:
        return message
    lang = lang or _current
    return _load(lang).gettext(message)


def _(message: str) -> str:
    return translate(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message with a count (Chinese has one form)."""
    return _load(_current).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a message for extraction without translating it (translated where shown)."""
    return message


def both(message: str, **fields: object) -> tuple[str, str]:
    """(zh, en) of one message, for report models that carry both languages (a report's
    JSON gives its title in both). ``fields`` fill the message's ``{placeholders}``; a
    field given as a ``(zh, en)`` pair (a unit's or an account's names) is filled with
    the name of each language."""

    def one(lang: str, i: int) -> str:
        text = translate(message, lang)
        if not fields:
            return text
        return text.format(**{k: v[i] if isinstance(v, tuple) else v for k, v in fields.items()})

    return one("zh", 0), one("en", 1)


#: Month and quarter names (report columns, chart ticks), from the catalogue.
MONTHS = (N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"), N_("Jul"), N_("Aug"), N_("Sep"),
          N_("Oct"), N_("Nov"), N_("Dec"))
QUARTERS = (N_("Q1"), N_("Q2"), N_("Q3"), N_("Q4"))


# Codes that stay ASCII in JSON and files for scripts, shown to people in words.
CODES: dict[str, str] = {
    # monitor colours (预警)
    "red": N_("red"), "yellow": N_("yellow"), "green": N_("green"), "excess": N_("excess"),
    # monitor warnings
    "negative_share": N_("negative special-account share"), "running_deficit": N_("deficit so far this year"),
    "planned_deficit": N_("budget plans a deficit"), "share_overdue": N_("government share overdue"),
    "balance_rate_red": N_("current-year balance rate red"),
    # budget checks (略有结余) and the quarter's basis of a request justification
    "surplus_above_range": N_("planned surplus above the small-surplus range"),
    "surplus_below_range": N_("planned surplus below the small-surplus range"),
    "unbudgeted": N_("not in the budget"),
    "plan": N_("annual plan"), "annual_div_4": N_("annual budget ÷ 4"), "adjusted": N_("adjusted"),
    "red_unacknowledged": N_("red warning not acknowledged in time"),
    # months-payable bases
    "last_12_months": N_("last 12 months"), "daily_since_first_day": N_("daily since first day"),
    "mixed": N_("mixed"),
    # memo-register kinds (备查簿)
    "fiscal_arrears": N_("fiscal arrears"), "employer_arrears": N_("employer arrears"),
    "unpaid_claims": N_("unpaid provider claims"), "government_share": N_("government shortfall share"),
    # fund-request states
    "submitted": N_("submitted"), "approved": N_("approved"), "rejected": N_("rejected"),
    "disbursed": N_("disbursed"), "settled": N_("settled"), "voided": N_("voided"),
    # fund-request actions
    "submit": N_("submit"), "approve": N_("approve"), "reject": N_("reject"), "void": N_("void"),
    "disburse": N_("disburse"), "settle": N_("settle"),
    # pre-allocation bases
    "budget": N_("budget"), "prior-year": N_("prior year"),
    # what a write did
    "posted": N_("posted"), "already posted": N_("already posted"), "to post": N_("to post"),
    "nothing to post": N_("nothing to post"), "not yet joined": N_("not yet joined"), "created": N_("created"), "unchanged": N_("unchanged"),
    "duplicate": N_("duplicate"), "recorded": N_("recorded"),
    # held entries (maker-checker); "rejected" is a request state too
    "held": N_("awaiting confirmation"), "confirmed": N_("confirmed"),
    # the consolidated row of a report (unit "all")
    "all": N_("all units"),
    # journal entry kinds
    "manual": N_("manual entry"), "opening": N_("opening balances"), "collections": N_("collections"),
    "payments": N_("benefit payments"), "handover_transfer": N_("handover transfer"),
    "preallocation": N_("pre-allocation"), "request_disburse": N_("disbursement"), "request_settle": N_("settlement"),
    "interest": N_("interest"), "reversal": N_("reversal"), "register_clear": N_("register clearing"),
    "year_close": N_("year-end close"), "government_payment": N_("government payment"),
    "adjfund_remit": N_("remittance to the adjustment fund"), "adjfund_alloc": N_("adjustment-fund allocation"),
    # db check items and backups
    "ok": N_("ok"), "warn": N_("warn"), "fail": N_("fail"), "unknown": N_("unknown"),
    "full": N_("full"), "incremental": N_("incremental"),
    # funding standards (筹资标准) and headcount imports
    "no_headcount": N_("no headcount"), "subsidy_below_standard": N_("subsidy below standard"),
    "individual_below_standard": N_("individual contribution below standard"),
    "total_below_standard": N_("funding below standard"), "ratio_out_of_range": N_("subsidy : individual out of range"),
    "corrected": N_("corrected"),
    # unit kinds
    "city": N_("city"), "county": N_("county"),
    # how a unit's joining date was set (fl.unit_joined.source; 0157: a registered one is the basis)
    "joined_region": N_("registered (months-payable basis)"),
    "joined_first_year": N_("defaulted to 1 January of the first year"),
    "joined_upgrade": N_("derived at the upgrade from its postings"),
    "joined_later": N_("registered later by the city bureau (months-payable basis)"),
    # sides; a bank statement line's direction (reconcile report)
    "Dr": N_("Dr"), "Cr": N_("Cr"), "in": N_("in"), "out": N_("out"),
    # verify's checks (the names stay in --json)
    "entry_balanced": N_("entries balance"), "posting_copies": N_("posting copies agree"),
    "vouchers": N_("vouchers numbered without gaps"), "account_balances": N_("account balances agree"),
    "account_days": N_("daily balances agree"), "bank_balances": N_("bank account balances agree"),
    "no_overdraft": N_("no bank account overdrawn"), "day_balances": N_("no bank account below zero at any day's end"),
    "components_separate": N_("fund components kept apart"), "pooled_shares": N_("pooled shares never below zero"),
    "closed_periods": N_("closed periods untouched"), "reversals": N_("reversals point back"),
    "held_entries": N_("held entries"), "requests": N_("fund requests agree with their history"), "first_days": N_("first days in the ledger as recorded"),
    "history_chain": N_("history chain"), "histories": N_("record histories agree"),
    "record_links": N_("record links"), "actors": N_("who did what"),
    "bank_refs": N_("bank account references"), "hash_chain": N_("hash chain"), "catalogue": N_("database schema"),
    "settings": N_("database settings"), "export_files": N_("export files"),
    # the API's rules re-derived in Python (ledger.core.rules)
    "maker_checker": N_("second person on held entries"), "request_duties": N_("request duties kept apart"),
    "officer_confinement": N_("officers kept to their own unit"), "key_namespaces": N_("keys in their namespaces"),
    "entry_dates": N_("entry dates within range"), "once_only": N_("openings and handovers once only"),
    "claims_once": N_("claims paid once"), "import_refs": N_("import register references"),
    "workflows": N_("workflow rules kept"),
    "account_rules": N_("accounts opened as the chart says"), "entry_writers": N_("entries written by their users"),
    "export_canonical": N_("canonical texts"), "digest": N_("digest"),
    "since_digest": N_("changed since the digest"),
    # roles
    "officer": N_("officer"), "reviewer": N_("reviewer"), "finance": N_("finance"), "auditor": N_("auditor"),
    "admin": N_("admin"),
}


def code_text(code: str, lang: str | None = None) -> str:
    """A stable code (``red``, ``unpaid_claims``, ``approved``) in words; unknown codes as they are."""
    msg = CODES.get(code)
    return translate(msg, lang) if msg else code


def join_words(words: Iterable[str], lang: str | None = None, sep: str = ", ") -> str:
    """A list as each language writes one: 甲、乙 / a, b."""
    return ("、" if (lang or _current) == "zh" else sep).join(words)


def codes_text(codes: str, lang: str | None = None, sep: str = ", ") -> str:
    """``"negative_share, running_deficit"`` → each code in words."""
    return join_words((code_text(c.strip(), lang) for c in codes.split(",") if c.strip()), lang, sep)
