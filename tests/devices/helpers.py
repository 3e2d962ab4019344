"""Shared set-up for device tests: a VA with a pool, a token, and devices speaking the protocol."""

from __future__ import annotations

from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from satellite.accounts.service import create_account, create_va, find_va
from satellite.actor import Actor
from satellite.agent.client import DeviceClient
from satellite.agent.transport import Reply
from satellite.clock import Clock
from satellite.crypto import keys
from satellite.licenses.models import LicenseLine
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database

TAG = "regid.2024-01.com.example.router-advantage"
SECRET_TAG = "regid.2024-01.com.example.crypto-export"


class FlaskTransport:
    """The agent's transport, over the Flask test client instead of a socket."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.base_url = "http://test"

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        response = self.client.open(path, method=method, data=body, headers=headers or {})
        return Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                     response.get_data())

    def close(self) -> None:
        """Nothing to close: the agent closes its transport after each call."""


@dataclass
class Site:
    account: str
    va: str
    va_id: int


def make_site(db: Database, actor: Actor, quantity: int = 5) -> Site:
    """Account `Acme`, VA `Lab` with `quantity` of TAG and 10 export-controlled SECRET_TAG."""
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        va = create_va(uow, actor, "Acme", "Lab")
        create_va(uow, actor, "Acme", "Spare")
        uow.session.flush()
        add_lines(uow.session, va.id, TAG, quantity)
        add_lines(uow.session, va.id, SECRET_TAG, 10, export_controlled=True)
        uow.commit()
        return Site("Acme", "Lab", va.id)


def add_lines(session: Session, va_id: int, tag: str, quantity: int,
              export_controlled: bool = False) -> None:
    # Test data: in production, lines arrive only through signed sync from Central.
    session.add(LicenseLine(va_id=va_id, tag=tag, display_name=tag, license_type="PERPETUAL",
                            quantity=quantity, start_date=None, end_date=None,
                            export_controlled=export_controlled,
                            origin_id=f"test-{va_id}-{tag}-{quantity}"))


def va_id(db: Database, account: str, va: str) -> int:
    with db.reader() as uow:
        return find_va(uow.session, account, va)[1].id


def make_token(db: Database, actor: Actor, sealer: TokenSealer, va: str = "Lab",
               **options: object) -> str:
    with db.uow() as uow:
        view = create_token(uow, actor, sealer, "Acme", va, **options)  # type: ignore[arg-type]
        uow.commit()
        return view.secret


def device(transport: FlaskTransport, clock: Clock) -> DeviceClient:
    return DeviceClient(transport, keys.generate_private_key(), now=clock.now)

