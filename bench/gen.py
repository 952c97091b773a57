"""Seeded generator of benefit-payment files (待遇支出) for the import benchmark.

Columns ``date,unit,book,provider,category,amount,reference`` (ledger.io.formats
PAYMENTS, required columns only): the seven Jiamusi units weighted by population, the
residents' book, providers per unit, categories mapped to the 5001 sub-accounts, and
amounts in yuan drawn per category (a few hundred yuan at a clinic, thousands for a
hospital stay). Written line by line: the file never sits in memory, and the same seed
gives the same file byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import UNITS

# Share of lines per unit (the city proper is the largest; our estimate from population).
UNIT_WEIGHTS = [0.34, 0.09, 0.16, 0.05, 0.15, 0.10, 0.11]
# category -> (weight, median fen, spread): a log-normal around the median.
CATEGORIES = {
    "outpatient": (0.55, 15_000, 0.8),
    "inpatient": (0.25, 450_000, 0.9),
    "chronic": (0.15, 60_000, 0.7),
    "other": (0.05, 30_000, 1.0),
}
HEADER = "date,unit,book,provider,category,amount,reference\n"


@dataclass
class Generated:
    path: Path
    lines: int
    per_unit: dict[str, int] = field(default_factory=dict)   # fen paid by each unit

    @property
    def total(self) -> int:
        return sum(self.per_unit.values())


def payments(path: Path, lines: int, *, seed: int = 7, year: int = 2023, prefix: str = "PAY",
             paid_from: str | None = None) -> Generated:
    """Write ``lines`` payment rows to ``path`` (CSV, UTF-8); return per-unit totals.
    ``paid_from``: a paid_from column with this value on every row (``city``: the bureau
    pays from the city expenditure account, which posts at once; since 0060 a bureau's
    payment out of a county's own account is held for a second person)."""
    rng = random.Random(seed)
    cats = list(CATEGORIES)
    cat_w = [CATEGORIES[c][0] for c in cats]
    start = dt.date(year, 1, 1).toordinal()
    days = dt.date(year, 12, 31).toordinal() - start + 1
    per_unit = dict.fromkeys(UNITS, 0)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER if paid_from is None else HEADER.rstrip("\n") + ",paid_from\n")
        tail = "" if paid_from is None else f",{paid_from}"
        buf: list[str] = []
        for i in range(lines):
            unit = rng.choices(UNITS, UNIT_WEIGHTS)[0]
            cat = rng.choices(cats, cat_w)[0]
            _, median, spread = CATEGORIES[cat]
            fen = max(100, int(rng.lognormvariate(0, spread) * median))
            per_unit[unit] += fen
            day = dt.date.fromordinal(start + (i * days) // lines)     # a year, in date order
            provider = f"定点医药机构{unit[-2:]}-{rng.randrange(1, 120):03d}"
            buf.append(f"{day.isoformat()},{unit},RES,{provider},{cat},{fen // 100}.{fen % 100:02d},"
                       f"{prefix}-{unit}-{i:09d}{tail}\n")
            if len(buf) >= 10_000:
                f.writelines(buf)
                buf.clear()
        f.writelines(buf)
    return Generated(path, lines, per_unit)


def main() -> None:
    ap = argparse.ArgumentParser(description="Write a seeded payments CSV.")
    ap.add_argument("path", type=Path)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    g = payments(a.path, a.lines, seed=a.seed)
    print(f"{g.lines} lines, total {g.total / 100:,.2f} yuan")


if __name__ == "__main__":
    main()
