"""The demo's two years (2023 and 2024, seed 2023, scale 1) built once a run and copied by the
tests that read them: test_demo's story test (its first run: the stories, the reports in both
languages, verify) and test_print (the 2023 reports it prints).

Each built the same ledger from nothing: test_demo two years, test_print the first of them
(a one-year demo is the two-year demo's first year, step for step: the same plan and seed,
the year's close and the next January, then a two-year demo goes on into 2024, dated 2024).
Now the first worker that asks builds the two years into the run's shared directory
(``built_once``, tests/conftest.py), stopped cleanly, with the stories ``Demo.run`` returned
beside it; each test copies the stopped cluster's directory (``cp -a``) and starts a server
of its own on the copy, as test_upgrade does with its upgraded demo. test_demo's determinism
run (the second demo) still builds from nothing: its point is a fresh run of the same seed.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger.demo.run import Demo, Story
from ledger.i18n import get_lang, set_lang
from ledger.store import embedded
from tests.conftest import built_once, running_copy

YEAR = 2023
YEARS = 2


def _build(work: Path) -> None:
    """``work/home``: the demo's two years, run as test_demo ran them (in Chinese, the
    language its stories' messages are in), stopped cleanly so a copy starts without recovery;
    ``work/stories.pickle``: what ``Demo.run`` returned."""
    home = work / "home"
    d = Demo(home, work / "out", year=YEAR, seed=YEAR, scale=1, years=YEARS)
    was = get_lang()
    try:
        set_lang("zh")
        stories = d.run()
    finally:
        set_lang(was)
        d.close()
        embedded.stop(home, mode="fast")
    (work / "stories.pickle").write_bytes(pickle.dumps(stories))
    shutil.rmtree(work / "out", ignore_errors=True)     # the generated import files: read by the run only


@contextmanager
def demo_copy(config: pytest.Config) -> Iterator[tuple[Path, list[Story]]]:
    """A running copy of the run's demo (its home, in memory where the machine has room, as
    every test cluster) and its stories; the copy's server is stopped and its files removed
    after."""
    built = built_once(config, "demo-2023-2y", _build)
    stories = pickle.loads((built / "stories.pickle").read_bytes())
    with running_copy(built / "home", "fl-demo-") as home:
        yield home, stories
