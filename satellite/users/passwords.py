"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import gzip
import secrets
import string
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from satellite.errors import InvalidInput

MIN_LENGTH = 12
# Longer passwords are refused before hashing: argon2 over megabytes is a denial of service.
MAX_LENGTH = 1024
_hasher = PasswordHasher()


# The 20,000 most common passwords (Royce Williams' list, as shipped with Django, BSD licence).
COMMON_PASSWORDS = "common-passwords.txt.gz"
# What is stripped from both ends before the list is asked again: "Password2024!" is "password".
_DECORATION = string.digits + string.punctuation + string.whitespace


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("satellite.users").joinpath(COMMON_PASSWORDS).read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def check_policy(password: str, username: str = "", field: str = "password") -> None:
    """Raises InvalidInput saying which rule the password breaks (naming the input `field`)."""
    check_length(password, field)
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_LENGTH} characters long",
                           field=field)
    if username and username.lower() in password.lower():
        raise InvalidInput("password must not contain the user name", field=field)
    if len(set(password)) < 5:
        raise InvalidInput("password must use at least 5 different characters", field=field)
    lowered = password.lower()
    core = lowered.strip(_DECORATION)
    if lowered in common_passwords() or not core or core in common_passwords():
        raise InvalidInput("password is one of the most common passwords (or one with digits "
                           "and symbols around it): choose another", field=field)


def check_length(password: str, field: str = "password") -> None:
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"{field} is longer than {MAX_LENGTH} characters", field=field)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)
