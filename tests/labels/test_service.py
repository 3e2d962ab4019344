"""Operators' tags: bounded words on pools, devices and reservations, found by every list."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from satellite.accounts import service as accounts
from satellite.actor import Actor
from satellite.audit.service import list_events
from satellite.clock import FixedClock
from satellite.devices.service import list_devices
from satellite.errors import InvalidInput, NotFound, PermissionDenied
from satellite.labels import filters
from satellite.labels.filters import MAX_LABEL, label
from satellite.labels.service import Item, add_labels, item_labels, remove_labels
from satellite.licenses.service import list_licenses
from satellite.permissions.policy import VA_USER, VA_VIEWER
from satellite.reservation import codes
from satellite.reservation import service as reservations
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.access.helpers import user_with
from tests.devices.helpers import SECRET_TAG, TAG, FlaskTransport, Site, device, make_token
from tests.reservation.certify import certified_signer

POOL = Item("license", account="acme.example.com", va="Lab", license=TAG)


def _add(db: Database, actor: Actor, item: Item, *words: str) -> list[str]:
    with db.uow() as uow:
        found = add_labels(uow, actor, item, words)
        uow.commit()
        return found


def _devices(db: Database, actor: Actor, count: int, sealer: TokenSealer,
             transport: FlaskTransport, clock: FixedClock) -> list[str]:
    token = make_token(db, actor, sealer, max_uses=None)
    for n in range(count):
        device(transport, clock).register(token, "C9300-24T", f"FOC{n}")
    return [f"PID:C9300-24T,SN:FOC{n}" for n in range(count)]


def test_tags_are_words_kept_lower_case_once_each_and_audited(
        db: Database, actor: Actor, site: Site) -> None:
    assert _add(db, actor, POOL, "Edge", "wan", "edge") == ["edge", "wan"]
    assert _add(db, actor, POOL, "wan", "lab/2") == ["edge", "lab/2", "wan"]
    with db.uow() as uow:
        assert remove_labels(uow, actor, POOL, ["EDGE", "absent"]) == ["lab/2", "wan"]
        uow.commit()
    with db.reader() as uow:
        assert item_labels(uow.session, actor, POOL) == ["lab/2", "wan"]
        added = list_events(uow.session, action="license.tag")
        removed = list_events(uow.session, action="license.untag")
        assert [e.target for e in added] == [f"license:acme.example.com/Lab/{TAG}"] * 2
        assert '"lab/2"' in added[0].details and '"edge"' in removed[0].details
        assert all(e.account_id is not None for e in added + removed)


@pytest.mark.parametrize("word", ["", " ", "-lead", "two words", "semi;colon", "<b>",
                                  "x" * (MAX_LABEL + 1), "tab\tin", "é"])
def test_a_tag_outside_the_safe_words_is_refused(db: Database, actor: Actor, site: Site,
                                                 word: str) -> None:
    with pytest.raises(InvalidInput), db.uow() as uow:
        add_labels(uow, actor, POOL, [word])


@given(st.text(max_size=80))
def test_any_accepted_tag_is_a_safe_word(text: str) -> None:
    try:
        word = label(text)
    except InvalidInput:
        return
    assert 1 <= len(word) <= MAX_LABEL and word == word.lower().strip()
    assert all(c.isascii() and (c.isalnum() or c in "._:/+-") for c in word)


def test_an_item_carries_at_most_twenty_tags(db: Database, actor: Actor, site: Site) -> None:
    _add(db, actor, POOL, *(f"t{n}" for n in range(19)))
    assert len(_add(db, actor, POOL, "t19", "t0")) == 20
    with pytest.raises(InvalidInput, match="at most 20"):
        _add(db, actor, POOL, "one-more")


def test_a_pool_the_va_does_not_hold_cannot_be_tagged(db: Database, actor: Actor,
                                                      site: Site) -> None:
    with pytest.raises(NotFound):
        _add(db, actor, Item("license", account="Acme", va="Spare", license=TAG), "edge")


@pytest.mark.parametrize("few", [0, 2, filters.FEW], ids=["common tags", "rare tags",
                                                          "short list"])
def test_lists_narrow_to_items_carrying_every_tag_asked(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, monkeypatch: pytest.MonkeyPatch, few: int) -> None:
    # Every way a list reads its tags gives the same answer: an account's long list through
    # its rarest tag's index, a short list walked whole, a list of every account by the
    # tag's ids (a rare tag) or walked (a common one). With a FEW of 2, the account's three
    # devices are a long list.
    monkeypatch.setattr(filters, "FEW", few)
    udis = _devices(db, actor, 3, sealer, transport, clock)
    _add(db, actor, Item("device", udi=udis[0]), "rack-4", "core")
    _add(db, actor, Item("device", udi=udis[2]), "rack-4")
    _add(db, actor, POOL, "edge")
    with db.reader() as uow:
        s = uow.session
        for tagged, want in ((["rack-4"], [udis[0], udis[2]]), (["RACK-4", "core"], [udis[0]]),
                             (["none"], [])):
            page = list_devices(s, actor, account="Acme", tagged=tagged)
            assert [r["udi"] for r in page.rows] == want and page.total == len(want)
            after = list_devices(s, actor, account="Acme", va="Lab", tagged=tagged,
                                 after=udis[0], status="Registered")
            assert [r["udi"] for r in after.rows] == [u for u in want if u > udis[0]]
            before = list_devices(s, actor, account="Acme", tagged=tagged, before=udis[2],
                                  status="Registered")
            assert [r["udi"] for r in before.rows] == [u for u in want if u < udis[2]]
            everywhere = list_devices(s, actor, tagged=tagged, limit=1)
            assert [r["udi"] for r in everywhere.rows] == want[:1]
            assert everywhere.total == len(want)
        pools = list_licenses(s, actor, clock.now().date(), "Acme", tagged=["edge"])
        assert [(r.virtual_account, r.counter.tag) for r in pools.rows] == [("Lab", TAG)]
        assert pools.total == 1
        assert list_licenses(s, actor, clock.now().date(), "Acme").total == 2  # SECRET_TAG too
        with pytest.raises(InvalidInput):
            list_devices(s, actor, account="Acme", tagged=["a b"])
    assert SECRET_TAG


def test_reservations_are_tagged_and_found_by_their_tags(
        db: Database, actor: Actor, site: Site) -> None:
    with db.uow() as uow:
        accounts.set_reservation_mode(uow, actor, "acme.example.com", "specific")
        for sn in ("OFF1", "OFF2"):
            request = codes.RequestCode.for_device(bytes(32), codes.Udi("C9300-24T", sn),
                                                   bytes(8)).encode()
            reservations.authorize(uow, actor, "acme.example.com", "Lab", request, {TAG: 1},
                                   certified_signer(uow.clock.now()))
        uow.commit()
    _add(db, actor, Item("reservation", udi="PID:C9300-24T,SN:OFF2"), "ship-7")
    with db.reader() as uow:
        acct = accounts.get_account(uow.session, "Acme")
        found = reservations.list_reservations(uow.session, actor, acct.id, tagged=["ship-7"])
        assert [r.serial_number for r in found] == ["OFF2"]


def test_tags_never_open_what_a_user_may_not_see_nor_let_viewers_change_them(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    udi = _devices(db, actor, 1, sealer, transport, clock)[0]
    _add(db, actor, Item("device", udi=udi), "shared")
    spare_user = user_with(db, actor, "spare", VA_USER, "acme.example.com", "Spare")
    viewer = user_with(db, actor, "viewer", VA_VIEWER, "acme.example.com", "Lab")
    with db.reader() as uow:
        page = list_devices(uow.session, spare_user, account="Acme", va="Spare",
                            tagged=["shared"])
        assert page.rows == []
        with pytest.raises(NotFound):
            item_labels(uow.session, spare_user, Item("device", udi=udi))
        assert item_labels(uow.session, viewer, Item("device", udi=udi)) == ["shared"]
    with pytest.raises((PermissionDenied, NotFound)):
        _add(db, viewer, Item("device", udi=udi), "mine")


def test_a_list_shorter_than_its_tag_is_walked_and_a_longer_one_led_by_the_tag(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    # With a FEW of 1, Lab's two devices are a long list, yet shorter than the tag's three.
    monkeypatch.setattr(filters, "FEW", 1)
    udis = _devices(db, actor, 2, sealer, transport, clock)
    with db.uow() as uow:
        accounts.create_va(uow, actor, "Acme", "Ops")
        uow.commit()
    device(transport, clock).register(make_token(db, actor, sealer, va="Ops"), "C9300-24T",
                                      "FOC9")
    everyone = [*udis, "PID:C9300-24T,SN:FOC9"]
    for udi in everyone:
        _add(db, actor, Item("device", udi=udi), "fleet")
    with db.reader() as uow:
        s = uow.session
        lab = list_devices(s, actor, account="Acme", va="Lab", tagged=["fleet"])
        assert [r["udi"] for r in lab.rows] == udis and lab.total == 2
        whole = list_devices(s, actor, account="Acme", tagged=["fleet"], limit=2)
        assert [r["udi"] for r in whole.rows] == everyone[:2] and whole.total == 3
        later = list_devices(s, actor, account="Acme", tagged=["fleet"], after=whole.after)
        assert [r["udi"] for r in later.rows] == everyone[2:]
