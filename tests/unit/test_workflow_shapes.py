"""ATTACK10 X7: the legs the imports write, re-derived by kind (ledger.core.workflow_shapes)."""

from __future__ import annotations

from ledger.core import workflow_shapes as ws


def test_a_payment_debits_benefit_expenditure_and_credits_an_expenditure_account() -> None:
    for chart in ("5001.inpatient", "5001.pharmacy", "5101"):
        assert ws.payment_leg("D", chart, "", "county", officer=True) is None
    assert ws.payment_leg("C", "1004", "county_exp", "county", officer=True) is None
    assert ws.payment_leg("C", "1004", "city_exp", "city", officer=False) is None


def test_a_payment_of_any_other_shape_is_named() -> None:
    assert "money into it" in str(ws.payment_leg("D", "1004", "county_exp", "county", officer=True))
    assert ws.payment_leg("D", "5001", "", "county", officer=True) is not None          # not a category leaf
    assert ws.payment_leg("D", "5401", "", "county", officer=True) is not None
    assert ws.payment_leg("C", "5001.inpatient", "", "county", officer=True) is not None
    assert ws.payment_leg("C", "1003", "special", "city", officer=False) is not None
    assert "city bureau's imports" in str(ws.payment_leg("C", "1004", "city_exp", "city", officer=True))
    assert "county's account" in str(ws.payment_leg("C", "1004", "city_exp", "county", officer=False))


def test_a_collection_goes_into_the_special_account_from_revenue() -> None:
    assert ws.collection_leg("D", "1003", "special") is None
    for chart in ("4001", "4101.central", "4501"):
        assert ws.collection_leg("C", chart, "") is None
    assert ws.collection_leg("D", "1004", "county_exp") is not None
    assert ws.collection_leg("C", "4101", "") is not None
    assert ws.collection_leg("C", "5001.inpatient", "") is not None


def test_the_register_files_one_reference_per_claim_line() -> None:
    assert ws.payment_key("payments:2024-03-20:230822:RES:-:county:bureau:ab12") == ("230822", "county", True)
    assert ws.register_problem(3, 3, 3, None) is None
    assert ws.register_problem(3, 3, 3, None) is None
    assert "no line of the import register" in str(ws.register_problem(1, 1, 0, None))
    assert "files 2 reference" in str(ws.register_problem(3, 3, 2, None))
    assert "carry no claim reference" in str(ws.register_problem(3, 2, 3, None))
    assert ws.register_problem(2, 2, 0, 5) is None                    # held: its batch's unfiled lines
    assert "awaiting an entry" in str(ws.register_problem(2, 2, 0, 1))
