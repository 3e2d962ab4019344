"""The role x operation matrix, and what a refused caller learns."""

from __future__ import annotations

import pytest

from satellite.actor import Actor
from satellite.errors import NotFound, PermissionDenied
from satellite.permissions.policy import PERMISSIONS, ROLES, require, visible_va_ids
from satellite.uow import Database
from tests.access.helpers import World, build_world

# Who may do what, written out independently of the table in the code (and as docs/access.md
# shows it). SA system admin; AA/AU/AV account admin/user/viewer; VA/VU/VV VA admin/user/viewer.
# VA roles are held on a VA above the one acted on.
EXPECTED = {
    "account.create": "SA",
    "account.export_category": "SA",
    "user.manage": "SA",
    "reservation.remove": "SA",
    "audit.list_all": "SA",
    "sync.import": "SA",
    "settings.view": "SA",
    "system.view": "SA",
    "system.clock": "SA",
    "account.view": "SA AA AU AV VA VU VV",
    "alert.view": "SA AA AU AV VA VU VV",
    "alert.manage": "SA AA",
    "sync.view": "SA AA",
    "account.update": "SA AA",
    "account_request.decide": "SA AA",
    "access_request.decide": "SA AA",
    "apiclient.manage": "SA AA",
    "audit.list": "SA AA",
    "license.transfer_account": "SA AA",
    "deposit_rule.manage": "SA AA",
    "holding.deposit": "SA AA",
    "device.transfer_account": "SA AA",
    "va.view": "SA AA AU AV VA VU VV",
    "va.create": "SA AA VA",
    "va.update": "SA AA VA",
    "va.delete": "SA AA VA",
    "license.view": "SA AA AU AV VA VU VV",
    "license.transfer": "SA AA AU VA VU",
    "license.convert": "SA AA AU VA VU",
    "reservation.view": "SA AA AU AV VA VU VV",
    "reservation.manage": "SA AA AU VA VU",
    "token.view": "SA AA AU AV VA VU VV",
    "token.manage": "SA AA AU VA VU",
    "device.view": "SA AA AU AV VA VU VV",
    "device.manage": "SA AA AU VA VU",
    "slup.upload": "SA AA AU VA VU",
    "grant.view": "SA AA VA",
    "grant.manage": "SA AA VA",
}
SHORT = {"system_admin": "SA", "account_admin": "AA", "account_user": "AU",
         "account_viewer": "AV", "va_admin": "VA", "va_user": "VU", "va_viewer": "VV"}


@pytest.fixture
def world(db: Database, actor: Actor) -> World:
    return build_world(db, actor)


def test_the_matrix_covers_every_operation_in_the_table() -> None:
    assert set(EXPECTED) == set(PERMISSIONS)


def _outcome(db: Database, caller: Actor, operation: str, target: dict[str, int]) -> str:
    with db.reader() as uow:
        try:
            require(uow.session, caller, operation, **target)
        except PermissionDenied:
            return "403"
        except NotFound:
            return "404"
    return "ok"


def test_role_matrix(db: Database, world: World) -> None:
    """Every operation of the table x every role (and a caller with no role at all)."""
    targets = {"system": {}, "account": {"account_id": world.account_id},
               "va": {"account_id": world.account_id, "va_id": world.child_id}}
    wrong = []
    for operation, rule in PERMISSIONS.items():
        target = targets[rule.scope]
        allowed = set(EXPECTED[operation].split())
        for role in ROLES:
            want = "ok" if SHORT[role] in allowed else "403"
            got = _outcome(db, world.actors[role], operation, target)
            if got != want:
                wrong.append(f"{operation} as {role}: {got}, expected {want}")
        # Someone with no role at all learns nothing of the account.
        want = "403" if rule.scope == "system" else "404"
        got = _outcome(db, world.actors["nobody"], operation, target)
        if got != want:
            wrong.append(f"{operation} with no role: {got}, expected {want}")
    assert wrong == []


def test_va_roles_do_not_reach_sibling_vas_or_the_account_level(db: Database,
                                                                world: World) -> None:
    va_admin = world.actors["va_admin"]
    with db.reader() as uow:
        s = uow.session
        require(s, va_admin, "va.delete", account_id=world.account_id, va_id=world.parent_id)
        with pytest.raises(NotFound):
            require(s, va_admin, "va.delete", account_id=world.account_id, va_id=world.other_id)
        with pytest.raises(PermissionDenied):
            # A top-level VA is created at the account level: account admins only.
            require(s, va_admin, "va.create", account_id=world.account_id)
        assert visible_va_ids(s, va_admin, "license.view", world.account_id) == {
            world.parent_id, world.child_id}
        assert visible_va_ids(s, world.actors["account_viewer"], "license.view",
                              world.account_id) is None


def test_a_viewer_is_refused_with_403_where_it_can_see(db: Database, world: World) -> None:
    with db.reader() as uow, pytest.raises(PermissionDenied, match="transfer licenses"):
        require(uow.session, world.actors["va_viewer"], "license.transfer",
                account_id=world.account_id, va_id=world.child_id)


def test_the_console_operator_and_jobs_act_as_system_admins(db: Database, world: World) -> None:
    with db.reader() as uow:
        for caller in (Actor.local_operator(), Actor.system("job")):
            require(uow.session, caller, "user.manage")
        with pytest.raises(PermissionDenied):
            require(uow.session, Actor("device", "C9300:A1"), "user.manage")
