from __future__ import annotations

import pytest

from satellite.crypto import keys
from satellite.crypto.signing import Signature, sign, verify
from satellite.errors import VerificationFailed
from tests.crypto.test_keys import RFC_KEY_ID, RFC_SECRET

# RFC 8032, section 7.1, test 1: the signature of the empty message.
RFC_SIGNATURE_B64 = ("5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18Flb"
                     "viRlUUFDjnoQCw==")


@pytest.fixture
def private() -> keys.PrivateKey:
    return keys.private_key_from_raw(RFC_SECRET)


def test_rfc8032_signature_vector(private: keys.PrivateKey) -> None:
    signature = sign(private, b"")
    assert signature == Signature(RFC_KEY_ID, RFC_SIGNATURE_B64)
    assert verify(keys.public_key_of(private), b"", signature) is not None


def test_a_modified_message_is_refused(private: keys.PrivateKey) -> None:
    signature = sign(private, b"quantity=10")
    with pytest.raises(VerificationFailed, match="modified after signing"):
        verify(keys.public_key_of(private), b"quantity=11", signature, what="the order")


def test_a_signature_by_an_untrusted_key_is_refused(private: keys.PrivateKey) -> None:
    other = keys.generate_private_key()
    signature = sign(other, b"data")
    with pytest.raises(VerificationFailed, match=f"not trusted \\(trusted: {RFC_KEY_ID}\\)"):
        verify(keys.public_key_of(private), b"data", signature)


def test_old_signatures_verify_after_rotation(private: keys.PrivateKey) -> None:
    new = keys.generate_private_key()
    old_signature = sign(private, b"data")
    trusted = [keys.public_key_of(new), keys.public_key_of(private)]
    assert keys.key_id(verify(trusted, b"data", old_signature)) == RFC_KEY_ID


def test_signature_json_round_trip_is_canonical(private: keys.PrivateKey) -> None:
    signature = sign(private, b"")
    text = signature.to_json()
    assert text == f'{{"alg":"Ed25519","key_id":"{RFC_KEY_ID}","sig":"{RFC_SIGNATURE_B64}"}}'
    assert Signature.from_json(text) == signature


@pytest.mark.parametrize("text", [
    "not json",
    '{"alg":"Ed25519","key_id":"x"}',
    '{"alg":"RSA","key_id":"x","sig":"AA=="}',
    '{"key_id":"x", "alg":"Ed25519","sig":"AA=="}',
])
def test_malformed_or_non_canonical_signature_json_is_refused(text: str) -> None:
    with pytest.raises(VerificationFailed):
        Signature.from_json(text)


def test_changed_padding_bits_in_base64_are_refused(private: keys.PrivateKey) -> None:
    # "Cw==" and "Cx==" decode to the same bytes; a changed byte must never verify.
    assert RFC_SIGNATURE_B64.endswith("Cw==")
    tampered = Signature(RFC_KEY_ID, RFC_SIGNATURE_B64[:-3] + "x==")
    with pytest.raises(VerificationFailed, match="canonical"):
        verify(keys.public_key_of(private), b"", tampered)
