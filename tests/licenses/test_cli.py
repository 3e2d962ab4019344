from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from satellite.actor import Actor
from satellite.licenses.usage import set_usage
from satellite.uow import Database
from tests.licenses.helpers import ROUTER, SWITCH, add_line, lines_of, make_account

JAN, DEC = date(2026, 1, 1), date(2026, 12, 31)


def pools(db: Database, actor: Actor) -> dict[str, int]:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 10, "TERM", JAN, DEC, subscription_id="Sub-1")
    add_line(db, vas["Lab"], SWITCH, 2)
    add_line(db, vas["Ops"], ROUTER, 1)
    with db.uow() as uow:
        set_usage(uow.session, "device:1", "in_use", {(vas["Ops"], ROUTER): 3})
        uow.commit()
    return vas


def test_license_list_json_has_the_on_prem_shape(db: Database, actor: Actor, cli: Any) -> None:
    pools(db, actor)
    result = cli("license", "list", "--account", "acme.example.com", "--as-of", "2026-03-01",
                 "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert body["totalRecords"] == 3
    assert body["licenses"][0] == {
        "license": ROUTER, "account": "Acme", "virtualAccount": "Lab", "quantity": 10,
        "inUse": 0, "reserved": 0, "available": 10, "status": "In Compliance",
        "licenseDetails": [{"licenseType": "TERM", "quantity": 10, "startDate": "2026-01-01",
                            "endDate": "2026-12-31", "subscriptionId": "Sub-1",
                            "active": True}],
        "tags": [],
    }
    assert [(x["virtualAccount"], x["available"], x["status"]) for x in body["licenses"]][2] == (
        "Ops", -2, "Out Of Compliance")


def test_license_list_filters_and_counts_as_of_a_date(db: Database, actor: Actor,
                                                      cli: Any) -> None:
    pools(db, actor)

    def listed(*args: str) -> list[tuple[str, str, int]]:
        result = cli("license", "list", "--json", *args)
        assert result.code == 0, result.err
        return [(x["virtualAccount"], x["license"], x["quantity"])
                for x in json.loads(result.out)["licenses"]]

    assert listed("--va", "Ops") == [("Ops", ROUTER, 1)]
    assert listed("--tag", SWITCH) == [("Lab", SWITCH, 2)]
    assert listed("--status", "out of compliance") == [("Ops", ROUTER, 1)]
    assert listed("--as-of", "2027-01-01", "--va", "Lab", "--tag", ROUTER) == [("Lab", ROUTER, 0)]
    text = cli("license", "list", "--account", "Acme", "--as-of", "2026-03-01")
    assert "Lab\t" + ROUTER + "\tquantity=10" in text.out


def test_license_list_refuses_bad_input_in_one_line(db: Database, actor: Actor,
                                                     cli: Any) -> None:
    for args in (("--as-of", "tomorrow"), ("--account", "nobody"), ("--status", "fine")):
        result = cli("license", "list", *args)
        assert result.code != 0
        assert result.out == ""
        assert len(result.err.strip().splitlines()) == 1, result.err


def test_transfer_moves_licenses_and_says_what_is_left(db: Database, actor: Actor,
                                                       cli: Any) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 5, origin="order-3")
    add_line(db, vas["Lab"], SWITCH, 4, origin="order-4")
    result = cli("transfer", "Acme", "--from", "Lab", "--to", "Ops", "--license", f"{ROUTER}=2",
                 "--license", f"{SWITCH}=4")
    assert result.code == 0, result.err
    assert f"Transferred 2 of {ROUTER} from Lab to Ops: Lab has 3 available" in result.out
    assert lines_of(db, vas["Ops"], ROUTER) == [("order-3", 2, "PERPETUAL", None, None, "")]
    assert lines_of(db, vas["Ops"], SWITCH) == [("order-4", 4, "PERPETUAL", None, None, "")]
    listed = cli("audit", "list", "--action", "license.", "--json")
    assert [e["action"] for e in json.loads(listed.out)["events"]] == ["license.transfer"] * 2


def test_a_refused_transfer_changes_nothing_at_all(db: Database, actor: Actor, cli: Any) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 5)
    add_line(db, vas["Lab"], SWITCH, 1)
    result = cli("transfer", "Acme", "--from", "Lab", "--to", "Ops", "--license", f"{ROUTER}=2",
                 "--license", f"{SWITCH}=3")
    assert result.code == 4
    assert result.err.strip().splitlines() == [
        f"satellite: error: virtual account 'Lab' has 1 of '{SWITCH}' free as of "
        f"{datetime.now(UTC).date()} (quantity 1, in use 0, reserved 0); cannot transfer 3"]
    assert lines_of(db, vas["Ops"], ROUTER) == []
    for args in (("--license", "no-count"), ("--license", f"{ROUTER}=x"),
                 ("--license", f"{ROUTER}=0")):
        bad = cli("transfer", "Acme", "--from", "Lab", "--to", "Ops", *args)
        assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1, bad.err
    assert lines_of(db, vas["Lab"], ROUTER)[0][1] == 5


def test_transfer_to_another_account(db: Database, actor: Actor, cli: Any) -> None:
    vas = make_account(db, actor)
    other = make_account(db, actor, "Other", "other.example.com", vas=("Spare",))
    add_line(db, vas["Lab"], ROUTER, 5)
    assert cli("transfer", "Acme", "--from", "Lab", "--to", "Spare",
               "--license", f"{ROUTER}=1").code == 3
    result = cli("transfer", "Acme", "--from", "Lab", "--to", "Spare", "--to-account", "Other",
                 "--license", f"{ROUTER}=1")
    assert result.code == 0, result.err
    assert lines_of(db, other["Spare"], ROUTER)[0][1] == 1
