"""Run the demo city's fiscal years (two by default) through the officers' own library calls.

The first year starts with the handover; each later year starts from the year before:
a second handover of a county is refused (once per county and book), next year's
budgets are imported, pre-allocation tops each county's expenditure account up to three
months of budgeted spending from what it already holds, and the local governments pay
the previous year's shortfall shares in January (the last year's shares stay owed).

No back door: every step is the store function a command calls (file imports,
handover, budgets, pre-allocation, fund requests, interest, registers, period and
year close, the government's payment), each as the user whose role allows it, each
in one transaction. The runner reports progress through a callback so the domain
stays free of terminal code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.core.entries import EntryDraft, PostingDraft, account_key
from ledger.core.region import Region, load_region
from ledger.demo import profile as P
from ledger.demo.generate import Plan, build, write_csv
from ledger.errors import AccountNotFound, LedgerError
from ledger.i18n import _
from ledger.store import accounts, admin, cycle, imports, journal, registers, requests, yearend
from ledger.store.db import Target, connect, run_tx
from ledger.store.requests import FundRequest

Progress = Callable[[str, int], None]   # (what happened, steps done so far)

ADMIN = "admin_li"
REVIEWER = "rev_zhang"       # 市医保局 city medical-insurance bureau
REVIEWER2 = "rev_wang"
FINANCE = "fin_zhao"         # 市财政局 city finance bureau
AUDITOR = "aud_sun"

# Steps in a year, for the progress bar: set-up, 12 months, close, next January; a later
# year: the refused second handover, budgets, pre-allocation, 12 months, close, January.
TOTAL_STEPS = 6 + 12 + 2
LATER_YEAR_STEPS = 3 + 12 + 2


def total_steps(years: int) -> int:
    return TOTAL_STEPS + (years - 1) * LATER_YEAR_STEPS


def officer(unit: str) -> str:
    return f"officer_{unit}"


@dataclass
class Story:
    """What happened, for the closing narrative (figures in fen)."""

    year: int
    requests: list[FundRequest] = field(default_factory=list)      # approved, disbursed and settled
    reduced: tuple[FundRequest, int] | None = None                  # a request and the less approved
    rejected: FundRequest | None = None
    interest: dict[str, int] = field(default_factory=dict)
    cleared: list[dict[str, Any]] = field(default_factory=list)
    preallocated: int = 0
    payment_lines: int = 0
    collection_rows: int = 0
    government_paid: dict[str, int] = field(default_factory=dict)
    second_handover_refused: str | None = None


class Demo:
    def __init__(self, home: Path, out: Path, *, year: int = 2023, seed: int = 2023, scale: int = 1,
                 years: int = 2, progress: Progress | None = None) -> None:
        self.home = home
        self.out = out
        self.first_year = year
        self.year = year
        self.years = years
        self.seed = seed
        self.scale = scale
        self.progress = progress or (lambda _msg, _n: None)
        self.region: Region = load_region()
        names = {u.code: u.name_zh for u in self.region.units}
        # Each year its own plan (a different seed): the same units, new collections and payments.
        self.plans: dict[int, Plan] = {year + i: build(year + i, seed + i, scale, names) for i in range(years)}
        self.plan: Plan = self.plans[year]
        self.stories = [Story(year + i) for i in range(years)]
        self.story = self.stories[0]
        self._conns: dict[str | None, Any] = {}
        self._step = 0

    # ---- plumbing -----------------------------------------------------------------
    def target(self, user: str | None = None) -> Target:
        return Target(None, user, str(self.home))

    def conn(self, user: str | None):  # type: ignore[no-untyped-def]
        if user not in self._conns:
            self._conns[user] = connect(self.target(user), admin=user is None)
        return self._conns[user]

    def as_(self, user: str, work: Callable[..., Any]) -> Any:
        return run_tx(self.conn(user), work)

    def step(self, message: str) -> None:
        self._step += 1
        self.progress(message, self._step)

    def close(self) -> None:
        for c in self._conns.values():
            c.close()
        self._conns.clear()

    def d(self, month: int, day: int, year: int | None = None) -> dt.date:
        return dt.date(year or self.year, month, day)

    def balance(self, user: str, key: str) -> int:
        try:
            return int(self.as_(user, lambda c: accounts.find_account(c, key)).balance)
        except AccountNotFound:
            return 0

    # ---- the years ----------------------------------------------------------------
    def run(self) -> list[Story]:
        """Every year, one after the other; the stories, first year first."""
        files = self.out / "files"
        files.mkdir(parents=True, exist_ok=True)
        self.setup()
        self.handover(files)
        for i in range(self.years):
            if i:
                self.year = self.first_year + i
                self.plan, self.story = self.plans[self.year], self.stories[i]
                self.new_year(files)
            for m in range(1, 13):
                self.month(m, files)
            self.close_year()
            if i < self.years - 1 or self.years == 1:
                self.next_january()   # the last of several years' shares stay owed at the end
        return self.stories

    def new_year(self, files: Path) -> None:
        """A later year's start: no second handover, next year's budgets, pre-allocation topped up."""
        y = self.year
        again = [dict(r, reference=r["reference"] + "-AGAIN") for r in self.plans[self.first_year].openings
                 if r["unit"] == P.COVERED_BY_SURPLUS and r["book"] == "RES" and r["item"] == "special_account"]
        path = write_csv(files / f"openings-{y}-again.csv", "opening", again)
        try:
            self.as_(REVIEWER, lambda c: imports.import_file(c, "opening", path, on=self.d(1, 2)))
        except LedgerError as e:
            self.story.second_handover_refused = str(e)
        else:
            raise RuntimeError("a second handover of the same county and book was accepted")
        self.step(_("{year}: a second handover of {unit} is refused (once per county and book)")
                  .format(year=y, unit=P.COVERED_BY_SURPLUS))
        path = write_csv(files / f"budgets-{y}.csv", "budget", self.plan.budgets)
        self.as_(REVIEWER, lambda c: imports.import_file(c, "budget", path))
        self.step(_("{year}: budgets approved for every unit and book").format(year=y))
        table = self.as_(REVIEWER, lambda c: cycle.preallocation_table(c, y, months=3, basis="budget"))
        held = self.as_(REVIEWER, lambda c: cycle.post_preallocation(c, y, self.d(1, 4), table))
        # The bureau holds it; city finance, whose special account pays it, confirms (0046).
        done = self.as_(FINANCE, lambda c: cycle.confirm_preallocation(c, held))
        self.story.preallocated = sum(r.amount for r in done if r.status == "posted")
        self.step(_("{year}: pre-allocation tops each county up to three months of budgeted spending")
                  .format(year=y))

    def setup(self) -> None:
        owner = self.conn(None)
        admin.init(self.target().conninfo(admin=True), owner, self.region)
        existing = {r.name for r in admin.list_users(owner)}
        users: list[tuple[str, str, str | None]] = [(ADMIN, "admin", None), (REVIEWER, "reviewer", None), (REVIEWER2, "reviewer", None),
                 (FINANCE, "finance", None), (AUDITOR, "auditor", None)]
        users += [(officer(u.code), "officer", u.code) for u in self.region.units]
        for name, role, unit in users:
            if name not in existing:
                admin.add_user(owner, name, role, unit)
        owner.commit()
        self.step(_("users and the Jiamusi region (7 units, books RES and EMP) are set up"))

    def handover(self, files: Path) -> None:
        y = self.year
        # The city's own accumulated surplus, as an audited opening entry of 市本级.
        drafts = []
        for (book, comp), amount in sorted(self.plan.city_opening.items()):
            drafts.append(EntryDraft(self.d(1, 2), book, f"demo-open-{y}-{P.CITY}-{book}-{comp or 'all'}", (
                PostingDraft("1003", P.CITY, "D", amount, holder="special", component=comp),
                PostingDraft("3001", P.CITY, "C", amount, component=comp)),
                memo="市本级期初累计结余 opening accumulated surplus of the city unit"))
        # The bureau records it (opening post); city finance, a second person, confirms it.
        held = self.as_(REVIEWER, lambda c: journal.post_opening(c, drafts))
        self.as_(FINANCE, lambda c: [journal.confirm(c, int(r.held_id)) for r in held if r.status == "held"])
        path = write_csv(files / f"openings-{y}.csv", "opening", self.plan.openings)
        opened = self.as_(REVIEWER, lambda c: imports.import_file(c, "opening", path, on=self.d(1, 2)))
        # The counties' balances on their legacy bank accounts: city finance confirms (0052).
        self.as_(FINANCE, lambda c: [journal.confirm(c, h) for h in getattr(opened, "held", [])])
        self.step(_("handover: audited balances and arrears of six counties recorded"))
        for u in self.region.units:
            if u.kind == "county":
                self.as_(FINANCE, lambda c, unit=u.code: imports.handover_transfer(c, unit, self.d(1, 3)))
        self.step(_("handover: every county's accumulated surplus moved up to the special account"))
        path = write_csv(files / f"budgets-{y}.csv", "budget", self.plan.budgets)
        self.as_(REVIEWER, lambda c: imports.import_file(c, "budget", path))
        self.step(_("budgets approved for every unit and book (one county plans a deficit)"))
        table = self.as_(REVIEWER, lambda c: cycle.preallocation_table(c, y, months=3, basis="budget"))
        held = self.as_(REVIEWER, lambda c: cycle.post_preallocation(c, y, self.d(1, 4), table))
        # The bureau holds it; city finance, whose special account pays it, confirms (0046).
        done = self.as_(FINANCE, lambda c: cycle.confirm_preallocation(c, held))
        self.story.preallocated = sum(r.amount for r in done if r.status == "posted")
        self.step(_("pre-allocation: three months of payable funds to each county"))
        self.clear_arrears("unpaid_claims", REVIEWER, self.d(1, 8), whole=True)
        self.step(_("unpaid provider claims from before the handover settled"))

    def clear_arrears(self, kind: str, user: str, on: dt.date, *, whole: bool, part: int = 1) -> None:
        items = self.as_(user, lambda c: registers.items_at(c, as_of=on, kind=kind, open_only=True))
        for it in items:
            amount = it.outstanding if whole else it.amount * part // 2 - it.cleared
            if amount <= 0:
                continue
            key = f"demo-clear-{it.id}-{on.isoformat()}"
            r = self.as_(user, lambda c, i=it.id, a=amount, k=key: registers.clear(c, i, a, on, k))
            if r.status == "held" and r.held_id is not None:
                # Unpaid claims leave the county's bank account: city finance confirms (0051).
                self.as_(FINANCE, lambda c, h=r.held_id: journal.confirm(c, h))
            self.story.cleared.append({"kind": kind, "unit": it.unit, "amount": amount, "date": on})

    def month(self, m: int, files: Path) -> None:
        y = self.year
        col = write_csv(files / f"collections-{y}-{m:02d}.csv", "collections", self.plan.collections[m])
        self.as_(FINANCE, lambda c: imports.import_file(c, "collections", col))
        self.story.collection_rows += len(self.plan.collections[m])
        if m in (1, 4, 7, 10):
            self.quarter_requests((m + 2) // 3)
        if m == 4:
            self.clear_arrears("employer_arrears", FINANCE, self.d(4, 12), whole=False, part=1)
        if m == 5:
            self.clear_arrears("fiscal_arrears", FINANCE, self.d(5, 18), whole=True)
        if m == 9:
            self.clear_arrears("employer_arrears", FINANCE, self.d(9, 12), whole=True)
        pay = write_csv(files / f"payments-{y}-{m:02d}.csv", "payments", self.plan.payments[m])
        paid = self.as_(REVIEWER, lambda c: imports.import_file(c, "payments", pay))
        # (0060, ATTACK7 U11) The bureau's rows paid from a county's expenditure account are held:
        # city finance confirms them (the county's own officer would have posted them at once).
        self.as_(FINANCE, lambda c: [journal.confirm(c, h) for h in getattr(paid, "held", [])])
        self.story.payment_lines += len(self.plan.payments[m])
        if m in (3, 6, 9, 12):
            self.interest(m)
        if m < 12:
            self.as_(REVIEWER, lambda c: admin.close_period(c, self.d(m, 1), "monthly close 月结"))
        done = [_("collections"), _("payments to providers")]
        done += [_("quarterly fund requests")] if m in (1, 4, 7, 10) else []
        done += [_("interest shared")] if m in (3, 6, 9, 12) else []
        done += [_("period closed")] if m < 12 else []
        self.step(_("{month}: {done}").format(month=f"{y}-{m:02d}", done=_(", ").join(done)))

    def quarter_requests(self, q: int) -> None:
        """Each unit asks for what the quarter's payments need beyond what it holds."""
        y = self.year
        first = 3 * q - 2
        # Approved and paid out of the special account on the 5th, once the money each request
        # draws on is there: in January the counties' carried-over balances reach the special
        # account with the handover (上划, the 3rd) and the pre-allocation (the 4th) is what the
        # request counts as held. A unit's personal-account money in the special account ends no
        # day below zero (0125, ATTACK15 A6: 不得相互挤占); paid on the 2nd, before the handover,
        # the counties' personal requests were the pooled fund's money on those days.
        approve_day = self.d(first, 5)
        for u in self.region.units:
            holder = "county_exp" if u.kind == "county" else "city_exp"
            for book, comp in (("RES", ""), ("EMP", "pooled"), ("EMP", "personal")):
                spend = sum(self.plan.spend.get((mm, u.code, book, comp), 0) for mm in range(first, first + 3))
                held = self.balance(REVIEWER, account_key(book, "1004", u.code, holder, comp))
                need = spend + spend * 3 // 100 - held
                padded = q == 2 and u.code == "230882" and book == "RES"
                if need <= 0:
                    continue
                ask = need * (120 if padded else 100) // 100
                ask = -(-ask // 1_000_000) * 1_000_000  # round up to 10,000 yuan
                note = "按季用款申请 quarterly request: payments of the quarter plus a 3% margin, less funds held"
                req = self.as_(officer(u.code), lambda c, u=u.code, b=book, cp=comp, a=ask, n=note: requests.submit(
                    c, unit=u, book=b, component=cp, year=y, quarter=q, amount=a, note=n,
                    key=f"demo-req-{y}Q{q}-{u}-{b}-{cp or 'all'}"))
                approved = None
                if padded:
                    approved = -(-need // 1_000_000) * 1_000_000
                    self.story.reduced = (req, approved)
                # the bureau approves on the quarter's second day, the day city finance pays (0126: the approval's
                # business date; a disbursement is never dated before it)
                self.as_(REVIEWER, lambda c, r=req, a=approved: requests.approve(c, r.id, a, approve_day))
                self.as_(FINANCE, lambda c, r=req: requests.disburse(c, r.id, approve_day))
                self.as_(REVIEWER2, lambda c, r=req: requests.settle(c, r.id, approve_day))
                self.story.requests.append(req)
        if q == 3:
            # 抚远市 asks for an extra float on top of its approved request: rejected.
            extra = self.as_(officer("230883"), lambda c: requests.submit(
                c, unit="230883", book="RES", component="", year=y, quarter=q, amount=30_000_000_00,
                note="补充周转金 extra float for the quarter", key=f"demo-req-{y}Q{q}-230883-RES-extra"))
            self.as_(REVIEWER2, lambda c: requests.reject(
                c, extra.id, "this quarter's request is approved and covers its payments 本季用款已批复"))
            self.story.rejected = extra

    def interest(self, m: int) -> None:
        """Quarterly interest on the special account (0.35% a year on its balance)."""
        y = self.year
        for book in ("RES", "EMP"):
            held = self.as_(FINANCE, lambda c, b=book: requests.special_account(c, b))
            total = held[0] * 35 // 10000 // 4 if held else 0
            if total <= 0:
                continue
            start = self.d(m - 2, 1) if m > 3 else self.d(1, 1)
            on = self.d(m, 21)
            table = self.as_(FINANCE, lambda c, b=book, t=total, s=start, e=on: cycle.interest_table(c, b, t, s, e))
            done = self.as_(FINANCE, lambda c, b=book, t=table, o=on, n=total, s=start: cycle.post_interest(
                c, b, o, f"demo-interest-{y}-{m:02d}-{b}", t, n, s, o))
            if done.status == "held":   # finance allocates, the bureau confirms (a second person)
                self.as_(REVIEWER, lambda c, h=done.held_id: journal.confirm(c, int(h)))
            self.story.interest[book] = self.story.interest.get(book, 0) + total

    def close_year(self) -> None:
        self.as_(REVIEWER, lambda c: yearend.close_year(c, self.year, self.d(12, 31)))
        self.step(_("year-end close {year}: revenue and expenditure closed to the fund balance, shortfalls shared")
                  .format(year=self.year))

    def next_january(self) -> None:
        rows = self.as_(REVIEWER, lambda c: yearend.shortfall_report(c, self.year))
        for r in rows:
            share = r.government_share
            if share > 0:
                key = f"demo-gov-{self.year}-{r.unit}-{r.book}"
                self.as_(FINANCE, lambda c, r=r, s=share, k=key: cycle.government_pay(
                    c, r.unit, r.book, s, dt.date(self.year + 1, 1, 20), k))
                self.story.government_paid[f"{r.unit}/{r.book}"] = share
        self.step(_("{month}: local governments pay their shortfall shares").format(month=f"{self.year + 1}-01"))
