from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satellite.crypto import keys
from satellite.crypto.signing import Signer
from satellite.errors import InvalidInput, VerificationFailed
from satellite.reservation import checksum, codes, files
from satellite.reservation.checksum import ALPHABET, CodeError
from tests.reservation import vectors as v

DOC = Path(__file__).resolve().parents[2] / "docs" / "reservation-codes.md"
UDI = codes.Udi(v.PID, v.SN)


def satellite_key() -> keys.PrivateKey:
    return keys.private_key_from_pem(v.SATELLITE_KEY_PEM)


def vector_authorization() -> codes.AuthorizationCode:
    return codes.AuthorizationCode(
        "SLR", 2, v.ISSUED_AT, v.NONCE, UDI,
        (codes.Entitlement(v.TAG, 3, "TERM", *v.TERM),), "00" * 8).sign(Signer(satellite_key()))


def test_vectors_match_the_implementation_and_the_document() -> None:
    request = codes.RequestCode.for_device(v.DEVICE_SECRET, UDI, v.NONCE)
    assert request.return_commitment.hex() == v.RETURN_COMMITMENT
    assert request.chain_anchor.hex() == v.CHAIN_ANCHOR
    assert request.encode() == v.REQUEST
    assert vector_authorization().encode() == v.AUTHORIZATION
    assert vector_authorization().key_id == v.SATELLITE_KEY_ID
    value = codes.chain_element(v.DEVICE_SECRET, UDI, v.NONCE, codes.confirmation_index(2))
    assert codes.ConfirmationCode(2, value).encode() == v.CONFIRMATION_SERIAL_2
    secret = codes.return_secret(v.DEVICE_SECRET, UDI, v.NONCE)
    assert codes.ReturnCode(secret).encode() == v.RETURN
    doc = " ".join(DOC.read_text().split())
    for text in (v.REQUEST, v.AUTHORIZATION, v.CONFIRMATION_SERIAL_2, v.RETURN, v.RETURN_COMMITMENT,
                 v.CHAIN_ANCHOR, v.SATELLITE_KEY_ID, v.SATELLITE_KEY_PEM.decode().splitlines()[1],
                 v.CENTRAL_KEY_ID, v.CENTRAL_KEY_PEM.decode().splitlines()[1],
                 v.CENTRAL_PUB_PEM.decode().splitlines()[1],
                 *v.SATELLITE_CERTIFICATE.decode().splitlines()[1:-1]):
        assert text in doc.replace(" ", ""), text


def test_the_authorization_file_carries_the_chain_and_older_files_still_read() -> None:
    text = files.authorization_file(v.AUTHORIZATION, UDI, v.SATELLITE_KEY_ID,
                                    v.SATELLITE_CERTIFICATE)
    data = json.loads(text)
    assert data["format"] == "satellite-reservation-authorization/2"
    assert files.read_authorization(text) == files.AuthorizationText(v.AUTHORIZATION,
                                                                     v.SATELLITE_CERTIFICATE)
    assert files.read_chain(text) == v.SATELLITE_CERTIFICATE
    assert files.read_chain(v.SATELLITE_CERTIFICATE.decode()) == v.SATELLITE_CERTIFICATE
    older = json.dumps({"format": "satellite-reservation-authorization/1", "udi": str(UDI),
                        "satellite_key_id": v.SATELLITE_KEY_ID, "code": v.AUTHORIZATION})
    assert files.read_authorization(older) == files.AuthorizationText(v.AUTHORIZATION, None)
    with pytest.raises(InvalidInput, match="carries no certificate chain"):
        files.read_chain(older)
    with pytest.raises(InvalidInput, match="not valid JSON"):
        files.read_authorization("{nope")
    with pytest.raises(InvalidInput, match="not in the satellite-reservation-authorization/2"):
        files.read_authorization(json.dumps({"format": "other", "code": "A"}))


def test_vector_codes_decode_and_verify() -> None:
    auth = codes.AuthorizationCode.decode(v.AUTHORIZATION.lower())
    auth.verify([keys.public_key_of(satellite_key())])
    assert auth.entitlements == (codes.Entitlement(v.TAG, 3, "TERM", *v.TERM),)
    assert (auth.udi, auth.serial, auth.issued_at) == (UDI, 2, v.ISSUED_AT)
    assert codes.RequestCode.decode(v.REQUEST).udi == UDI


def test_short_codes_fit_a_telephone_call() -> None:
    assert len(v.CONFIRMATION_SERIAL_2) <= 32
    assert len(v.RETURN) <= 32


def test_look_alike_letters_and_case_read_as_their_digits() -> None:
    typed = v.RETURN.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    assert codes.ReturnCode.decode(typed) == codes.ReturnCode.decode(v.RETURN)


def test_a_code_of_another_type_is_named() -> None:
    with pytest.raises(CodeError, match="this is a return code, not a request code"):
        codes.RequestCode.decode(v.RETURN)


def test_a_character_outside_the_alphabet_is_named_with_its_position() -> None:
    with pytest.raises(CodeError, match=r"'U' at position 7 \(group 2, character 2\)"):
        codes.ReturnCode.decode(v.RETURN[:7] + "U" + v.RETURN[8:])


def test_a_modified_and_rechecksummed_authorization_fails_the_signature() -> None:
    forged = replace(vector_authorization(), serial=9).encode()  # checksum recomputed
    with pytest.raises(VerificationFailed, match="modified after signing"):
        codes.AuthorizationCode.decode(forged).verify([keys.public_key_of(satellite_key())])


def _change(code: str, index: int, value: int) -> tuple[str, int]:
    """Replace the index-th code character (separators skipped) by another alphabet value."""
    chars = [i for i, c in enumerate(code) if c != "-"]
    at = chars[index]
    old = checksum.ALPHABET.index(code[at])
    new = ALPHABET[(old + 1 + value % 31) % 32]
    return code[:at] + new + code[at + 1:], index + 1


udis = st.builds(codes.Udi,
                 st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=20),
                 st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20))


@settings(max_examples=40, deadline=None)
@given(secret=st.binary(min_size=32, max_size=32), udi=udis,
       nonce=st.binary(min_size=8, max_size=8), serial=st.integers(2, codes.MAX_SERIAL))
def test_every_code_round_trips(secret: bytes, udi: codes.Udi, nonce: bytes, serial: int) -> None:
    request = codes.RequestCode.for_device(secret, udi, nonce)
    assert codes.RequestCode.decode(request.encode()) == request
    confirmation = codes.ConfirmationCode(serial, codes.chain_element(secret, udi, nonce, 3))
    assert codes.ConfirmationCode.decode(confirmation.encode()) == confirmation
    returned = codes.ReturnCode(codes.return_secret(secret, udi, nonce))
    assert codes.ReturnCode.decode(returned.encode()) == returned
    auth = replace(vector_authorization(), udi=udi, nonce=nonce, serial=serial).sign(Signer(satellite_key()))
    assert codes.AuthorizationCode.decode(auth.encode()) == auth


@settings(max_examples=60, deadline=None)
@given(udi=udis, nonce=st.binary(min_size=8, max_size=8), data=st.data())
def test_every_single_change_to_a_request_code_is_caught_with_its_position(
        udi: codes.Udi, nonce: bytes, data: st.DataObject) -> None:
    code = codes.RequestCode.for_device(v.DEVICE_SECRET, udi, nonce).encode()
    length = len(code.replace("-", ""))
    changed, position = _change(code, data.draw(st.integers(0, length - 1)),
                                data.draw(st.integers(0, 30)))
    with pytest.raises(CodeError) as caught:
        codes.RequestCode.decode(changed)
    assert caught.value.position == position
    assert f"position {position} " in caught.value.message


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, len(v.AUTHORIZATION.replace("-", "")) - 1), value=st.integers(0, 30))
def test_every_single_change_to_an_authorization_code_fails_verification(index: int,
                                                                          value: int) -> None:
    changed, _ = _change(v.AUTHORIZATION, index, value)
    with pytest.raises(VerificationFailed):
        codes.AuthorizationCode.decode(changed).verify([keys.public_key_of(satellite_key())])


def test_every_position_of_the_vector_codes_is_located() -> None:
    # Exhaustive over positions and replacement values for the short codes.
    for code, parse in ((v.RETURN, codes.ReturnCode.decode),
                        (v.CONFIRMATION_SERIAL_2, codes.ConfirmationCode.decode)):
        for index in range(len(code.replace("-", ""))):
            for value in range(31):
                changed, position = _change(code, index, value)
                with pytest.raises(CodeError) as caught:
                    parse(changed)
                assert caught.value.position == position


@pytest.mark.parametrize(("code", "udi"), [
    ("CB-ZC9300-24T:FCW2233L0AB-AKaPznPNg-CF", "PID C9300-24T, SN FCW2233L0AB"),
    (" DB-ZISR4331/K9:FDO21520TGH-Ai2qWmY8g-15\n", "PID ISR4331/K9, SN FDO21520TGH"),
])
def test_a_cisco_devices_request_code_is_named_as_such(code: str, udi: str) -> None:
    with pytest.raises(CodeError) as refused:
        codes.RequestCode.decode(code)
    assert f"Cisco device's own reservation request code ({udi})" in str(refused.value)
    assert "CSSM" in str(refused.value)
