"""Compiles the message catalogue (ledger/locale/*/LC_MESSAGES/*.po → .mo) at build time,
so wheels and editable installs ship the .mo files gettext reads, each with its parsed
form beside it (ledger.i18n.write_parsed). Everything else is in
pyproject.toml."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def compile_catalogues() -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    # ledger/i18n.py needs only the standard library; loaded by path, as the build may
    # not have the source tree on sys.path.
    spec = importlib.util.spec_from_file_location("_fundledger_i18n", Path(__file__).parent / "ledger/i18n.py")
    assert spec is not None and spec.loader is not None
    i18n = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(i18n)

    for po in sorted(Path(__file__).parent.glob("ledger/locale/*/LC_MESSAGES/*.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parents[1].name)
        with po.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)
        i18n.write_parsed(po.with_suffix(".mo"))


class BuildWithCatalogue(build_py):
    def run(self) -> None:
        compile_catalogues()
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogue})
