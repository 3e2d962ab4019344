"""Finding 4: sync uploads in the web UI: permission first, expansion bounded, nothing kept."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from satellite.access.grants import grant
from satellite.actor import Actor
from satellite.cloudsync.envelope import MIN_EXPANSION_BYTES, read_bundle, write_bundle
from satellite.config import Settings
from satellite.crypto import keys
from satellite.crypto.signing import Signer
from satellite.errors import VerificationFailed
from satellite.uow import Database
from satellite.users.service import create_user
from tests.web.ui.conftest import Browser

PASSWORD = "a long viewer password 1"


@pytest.mark.parametrize("form", ["preview", "inspect"])
def test_an_account_admin_cannot_upload_sync_files(
        browser: Browser, db: Database, settings: Settings, form: str) -> None:
    with db.uow() as uow:
        create_user(uow, Actor("cli", "t"), "ada", PASSWORD)
        grant(uow, Actor("cli", "t"), "ada", "account_admin", "acme.example.com")
        uow.commit()
    browser.sign_in("ada", PASSWORD)
    browser.get("/accounts")
    prefix = "imp" if form == "preview" else "ins"
    status, _ = browser.post(f"/sync/{form}", {f"{prefix}-csrf_token": browser.token,
                                               f"{prefix}-bundle": (io.BytesIO(b"x" * 4096),
                                                                    "big.bundle")},
                             content_type="multipart/form-data")
    assert status == 403
    uploads = settings.data_dir / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())


def test_a_payload_that_expands_too_far_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "bomb.bundle"
    pad = "a" * ((1 << 20) - 100)
    count = MIN_EXPANSION_BYTES // len(pad) + 8
    write_bundle(path, kind="central-response", sender="c", recipient="s", serial=1,
                 created_at=datetime(2026, 3, 1, tzinfo=UTC),
                 signer=Signer(keys.generate_private_key()),
                 records=({"type": "pad", "pad": pad} for _ in range(count)))
    assert path.stat().st_size * 200 < MIN_EXPANSION_BYTES  # far more than 200 times
    with read_bundle(path) as bundle, pytest.raises(VerificationFailed, match="expands"):
        for _ in bundle.records():
            pass
