"""ATTACK21 N3 (fixed): `fundledger db check` — the operator's 等保/deployment check — printed every item's
value and every remedy in English under the Chinese default (only the status words and the verdict line
were Chinese): 'no verified base backup recorded', '解决办法：fundledger backup DIR (nightly, e.g. from
cron/systemd timer): a verified base backup bounds how much WAL …'. Each is a catalogue message now; what
stays as it is, is what the operator types or reads in a configuration file: a SQL statement
(``REVOKE CONNECT, TEMPORARY ON DATABASE x FROM PUBLIC``), a command (``fundledger db standby create DIR``)
and a pg_hba.conf line (``local all all trust``)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db
ENGLISH_RUN = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")   # cli.errors' own 'four English words'
# shown as written: a pg_hba.conf line (第 N 行：local all all trust), a SQL statement and a command to run
VERBATIM = re.compile(r"第 \d+ 行：[^;\n]*|(?:REVOKE|GRANT) [A-Z, ]+ ON DATABASE \S+ (?:FROM|TO) \w+|"
                      r"fundledger(?: [a-z-]+)+(?: [A-Z]+)?")


def test_db_check_speaks_chinese(ledger_db: LedgerDB) -> None:
    r = ledger_db.cli("db", "check", env={"FUNDLEDGER_LANG": "", "COLUMNS": "2000"})
    text = r.stdout + r.stderr
    assert "解决办法" in text and "没有记录经过验证的基础备份" in text, text
    # database names are names, shown as they are (a shared server lists its others': postgres, root, test…)
    with ledger_db.connect() as c:
        names = sorted((r["datname"] for r in c.execute("SELECT datname FROM pg_catalog.pg_database")), key=len,
                       reverse=True)
    shown = VERBATIM.sub("", text)
    for n in names:
        shown = shown.replace(n, "库")
    leaked = ENGLISH_RUN.findall(shown)
    assert not leaked, f"{len(leaked)} English runs, e.g. {leaked[:4]!r}\n{text[:1500]}"


def test_db_check_in_english_and_its_json_keys_are_as_before(ledger_db: LedgerDB) -> None:
    en = ledger_db.cli("db", "check", env={"FUNDLEDGER_LANG": "en", "COLUMNS": "2000"})
    assert "no verified base backup recorded" in en.stdout, en.stdout
    assert "fix: fundledger backup DIR (nightly, e.g. from cron/systemd timer)" in en.stdout, en.stdout
    out = ledger_db.cli("db", "check", "--json", env={"FUNDLEDGER_LANG": ""}).json()
    assert set(out) == {"ok", "items"} and all(set(i) == {"name", "status", "value", "hint"} for i in out["items"])
    names = [i["name"] for i in out["items"]]
    assert {"fsync", "pg_hba", "base_backup", "sync_standby", "archiving"} <= set(names), names
