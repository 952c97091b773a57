"""The reference data every figure depends on, against the DBA (ATTACK5 S3, issue 15).

One ``UPDATE fl.chart SET kind = 'liability'`` moved ¥93 M of expenditure out of the
income statement while ``verify`` and ``audit check-digest`` (against a digest filed
before) said the books were whole. The chart, holders, units, books and region settings
are now chained (sql/0038) and guarded: a plain UPDATE of a classification is refused, a
change made with the triggers off is a finding of the independent verdict (histories),
and a change the history recorded after a digest is named by check-digest."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.core.region import load_region
from ledger.store import migrate
from tests.conftest import LedgerDB
from tests.integration.test_verify import sample_ledger
from tests.sampled import prebuilt

pytestmark = pytest.mark.db

# (table, subject the verdict names, the tampering UPDATE)
TAMPERS = {
    "chart_kind": ("fl.chart", "fl.chart code=5101",
                   "UPDATE fl.chart SET kind = 'liability', normal_side = 'C' WHERE code = '5101'"),
    "unit_kind": ("fl.unit", "fl.unit code=230822", "UPDATE fl.unit SET kind = 'city' WHERE code = '230822'"),
    "holder_pooled": ("fl.holder", "fl.holder code=county_exp",
                      "UPDATE fl.holder SET pooled = true, counties_only = false WHERE code = 'county_exp'"),
    "setting_value": ("fl.setting", "fl.setting key=budget_surplus_min_pct",
                      "UPDATE fl.setting SET value = '\"-50\"' WHERE key = 'budget_surplus_min_pct'"),
}


@pytest.fixture(scope="session")
def _filed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reference_tamper") / "filed.json"


_checked: list[str] = []


@pytest.fixture
def digested(request: pytest.FixtureRequest, _filed: Path) -> Iterator[LedgerDB]:
    """A copy of the sample ledger whose digest was filed (``_filed``): built once a worker
    (tests/sampled.py), not once a test. The first copy is checked against the digest (whole):
    every copy is the same database, so each test's finding is its own tamper's."""
    def build(db: LedgerDB) -> None:
        sample_ledger(db)
        took = db.cli("audit", "digest", "--out", str(_filed), user="aud")
        assert took.exit_code == 0, took

    for db in prebuilt(request, "reference_tamper:sample+digest", build):
        if not _checked:
            clean = db.cli("audit", "check-digest", str(_filed), user="aud")
            assert clean.exit_code == 0, clean
            _checked.append(db.name)
        yield db


def _findings(doc, check: str) -> list[dict]:
    """The findings of ``check``, in the report or in its independent verdict."""
    checks = [*doc["checks"], *(doc.get("independent") or {}).get("checks", [])]
    return [f for ch in checks if ch["name"] == check for f in ch["findings"]]


@pytest.mark.parametrize("case", [c for c in TAMPERS if c != "setting_value"])
def test_a_plain_update_of_a_classification_is_refused(refusals_db, case):
    _, _, update = TAMPERS[case]
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation) as e:
        refusals_db.admin().execute(update)
    assert e.value.diag.constraint_name == "reference_fixed"
    assert "year-end rule" in str(e.value)


@pytest.mark.parametrize("table", ["fl.chart", "fl.unit", "fl.holder", "fl.book", "fl.setting"])
def test_reference_data_is_never_removed(refusals_db, table):
    c = refusals_db.admin()
    for stmt in (f"DELETE FROM {table}", f"TRUNCATE {table} CASCADE"):
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation) as e:
            c.execute(stmt)
        assert e.value.diag.constraint_name == "reference_fixed"


@pytest.mark.parametrize("case", list(TAMPERS))
def test_a_change_with_the_triggers_off_is_named_by_verify_and_check_digest(digested, _filed, case):
    """session_replication_role = replica: no guard, no history version. The row no longer
    equals its latest version: the independent verdict names it, and check-digest (which
    runs every verify check on the same snapshot) fails."""
    _, subject, update = TAMPERS[case]
    ledger_db, filed = digested, _filed
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute(update)
    c.execute("SET session_replication_role = origin")

    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code == 1, res
    named = {f["account"]: f["message"] for f in _findings(res.json(), "histories")}
    assert subject in named, named

    chk = ledger_db.cli("audit", "check-digest", str(filed), "--json", user="aud")
    assert chk.exit_code == 1, chk
    assert subject in {f["account"] for f in _findings(chk.json(), "histories")}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_a_change_the_history_recorded_is_named_by_check_digest(digested, _filed, case):
    """The guard switched off for the UPDATE and on again (the catalogue is the release's
    again), the history's triggers on: the change is a version of the row. A
    classification change is an UPDATE fundledger never makes (verify names it); a
    setting's value is what a region reload changes, so verify cannot tell it from one —
    but check-digest names every change made after the digest it is given."""
    table, subject, update = TAMPERS[case]
    ledger_db, filed = digested, _filed
    c = ledger_db.admin()
    name = table[3:]
    c.execute(f'ALTER TABLE {table} DISABLE TRIGGER "{name}_reference_guard"')
    c.execute(update)
    c.execute(f'ALTER TABLE {table} ENABLE TRIGGER "{name}_reference_guard"')

    res = ledger_db.cli("verify", "--json", user="aud")
    if case != "setting_value":
        assert res.exit_code == 1, res
        named = {f["account"]: f["message"] for f in _findings(res.json(), "histories")}
        assert "fundledger changes only name_en, name_zh" in named[subject], named

    chk = ledger_db.cli("audit", "check-digest", str(filed), "--json", user="aud")
    assert chk.exit_code == 1, chk
    dig = _findings(chk.json(), "digest")
    key = subject.split("=", 1)[1]
    assert any(f"{table} {key}: changed after the digest" in f["message"] for f in dig), dig


def test_a_legitimate_region_reload_still_verifies(digested, _filed):
    """Reloading the region file: unchanged rows are not rewritten (no new versions); a
    renamed unit and a changed setting are versions the history records, and verify holds."""
    ledger_db, filed = digested, _filed
    c = ledger_db.admin()
    count = "SELECT count(*) AS n FROM fl.record_log WHERE tbl IN ('fl.chart','fl.unit','fl.book','fl.holder','fl.setting')"
    before = c.execute(count).fetchone()["n"]
    region = load_region()
    migrate.load_reference(c, region)
    assert c.execute(count).fetchone()["n"] == before

    units = tuple(dataclasses.replace(u, name_en=u.name_en + " (renamed)") if u.code == "230822" else u
                  for u in region.units)
    settings = dataclasses.replace(region.settings, preallocation_months=region.settings.preallocation_months + 1)
    migrate.load_reference(c, dataclasses.replace(region, units=units, settings=settings))
    assert c.execute(count).fetchone()["n"] == before + 2

    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code == 0, res
    # A renamed unit is no finding of check-digest; a changed setting is (file a new digest
    # after a reload that changes the region's settings).
    chk = ledger_db.cli("audit", "check-digest", str(filed), "--json", user="aud")
    dig = [f["message"] for f in _findings(chk.json(), "digest")]
    assert [m for m in dig if "fl.setting preallocation_months" in m], dig
    assert not [m for m in dig if "fl.unit" in m], dig


def test_a_region_reload_cannot_change_a_units_kind(ledger_db):
    region = load_region()
    units = tuple(dataclasses.replace(u, kind="city") if u.code == "230822" else u for u in region.units)
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation) as e:
        migrate.load_reference(ledger_db.admin(), dataclasses.replace(region, units=units))
    assert e.value.diag.constraint_name == "reference_fixed" and "kind" in str(e.value)


def test_the_export_carries_the_reference_data_and_verify_offline_names_a_change(sample_db, tmp_path):
    """The archive: the reference tables' rows and histories are exported like every
    hooked table's; a classification changed with the triggers off is named with no
    database at all."""
    from ledger.io import archive
    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    c.execute(TAMPERS["chart_kind"][2])
    c.execute("SET session_replication_role = origin")
    out = tmp_path / "export"
    sample_db.cli("audit", "export", str(out), user="aud")
    assert (out / "history" / "chart.csv").exists() and (out / "history" / "setting.csv").exists()
    rep = archive.verify_offline(out, no_digest=True)
    assert not rep.ok
    assert "fl.chart code=5101" in {f.account for f in rep.findings if f.check == "histories"}


_MOVABLE_BANK = """SELECT b.id, u.code FROM fl.bank_account b CROSS JOIN fl.unit u
                    WHERE b.unit IS NOT NULL AND u.code <> b.unit
                      AND NOT EXISTS (SELECT 1 FROM fl.bank_account x
                                       WHERE x.book = b.book AND x.holder = b.holder AND x.unit = u.code)
                    ORDER BY b.id, u.code LIMIT 1"""


def test_a_bank_accounts_identity_is_refused_with_the_triggers_on(sample_db):
    """sql/0045: which physical account a row is (book, holder, unit) never changes; its
    balance still moves with every posting (sample_ledger posts through it)."""
    c = sample_db.admin()
    bank, unit = c.execute(_MOVABLE_BANK).fetchone().values()
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation) as e:
        c.execute("UPDATE fl.bank_account SET unit = %s WHERE id = %s", (unit, bank))
    assert e.value.diag.constraint_name == "reference_fixed" and f"bank_account {bank}: unit" in str(e.value)
    c.rollback()
    moved = c.execute("SELECT count(*) AS n FROM fl.bank_account WHERE balance <> 0").fetchone()["n"]
    assert moved > 0
    hooked = {r["tbl"] for r in c.execute("SELECT tbl FROM fl.chained_table").fetchall()}
    assert "fl.bank_account" in hooked
    # no version per posting's balance update: only the backfill / insert of each row
    versions = c.execute("SELECT count(*) AS n, count(DISTINCT row_key) AS k FROM fl.record_log "
                         "WHERE tbl = 'fl.bank_account'").fetchone()
    assert versions["n"] == versions["k"] > 0, versions


def test_a_bank_account_moved_with_the_triggers_off_is_named_online_and_offline(sample_db, tmp_path):
    """A DBA moves a physical bank account to another unit with the triggers off: both
    passes of verify name the row (its identity differs from its recorded version; its
    balance, which the history does not follow, is no finding), and so does verify
    --offline on the export."""
    from ledger.io import archive
    c = sample_db.admin()
    bank, unit = c.execute(_MOVABLE_BANK).fetchone().values()
    c.execute("SET session_replication_role = replica")
    c.execute("UPDATE fl.bank_account SET unit = %s WHERE id = %s", (unit, bank))
    c.execute("SET session_replication_role = origin")
    c.commit()
    subject = f"fl.bank_account id={bank}"

    res = sample_db.cli("verify", "--json", user="aud")
    assert res.exit_code == 1, res
    doc = res.json()
    first = [f for ch in doc["checks"] if ch["name"] == "histories" for f in ch["findings"]]
    indep = [f for ch in (doc.get("independent") or {}).get("checks", []) if ch["name"] == "histories"
             for f in ch["findings"]]
    assert [f for f in first if f["account"] == subject], first
    named = [f["message"] for f in indep if f["account"] == subject]
    assert named and "unit" in named[0] and "balance" not in named[0], indep
    assert not [f for f in first + indep if f["account"].startswith("fl.bank_account") and f["account"] != subject]

    out = tmp_path / "export"
    sample_db.cli("audit", "export", str(out), user="aud")
    rep = archive.verify_offline(out)
    assert subject in {f.account for f in rep.findings if f.check == "histories"}


def test_verify_region_names_a_setting_changed_with_the_triggers_on(sample_db, tmp_path):
    """A setting changed by the DBA with every trigger on is a version the history
    records, as a region reload's would be: verify alone cannot tell it from one. Given
    the region file the auditor keeps, verify --region names it (and nothing on a ledger
    that matches the file); a wrong file is named too."""
    from importlib import resources
    region = tmp_path / "jiamusi.toml"
    region.write_text(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"), "utf-8")
    clean = sample_db.cli("verify", "--region", str(region), "--json", user="aud")
    assert clean.exit_code == 0, clean
    assert "region" in {c["name"] for c in clean.json()["independent"]["checks"]}

    sample_db.admin().execute(TAMPERS["setting_value"][2])    # triggers on: the history records it
    assert sample_db.cli("verify", "--json", user="aud").exit_code == 0      # a version like a reload's
    res = sample_db.cli("verify", "--region", str(region), "--json", user="aud")
    assert res.exit_code == 1, res
    named = {f["account"]: f["message"] for f in _findings(res.json(), "region")}
    assert "-50" in named.get("fl.setting key=budget_surplus_min_pct", ""), named
    assert len(named) == 1, named

    bad = sample_db.cli("verify", "--region", str(region), "--fast", user="aud")
    assert bad.exit_code == 1 and "[bad_input]" in bad.stderr and "--region" in bad.stderr, bad
