"""Export-control categories of accounts: which may use export-controlled functionality.

Every account carries a category, A (the default, unrestricted) to D. Accounts in a
restricted category (C, D) may not use export-controlled features: no registration token
allowing them is made, tokens that allow them stop granting it, their devices are
NOT_AUTHORIZED for export-controlled tags, and no reservation holds such a tag. Only system
administrators change a category, or Central, by a signed response (`apply_central`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.errors import InvalidInput, PermissionDenied
from satellite.limits import check_text
from satellite.permissions.policy import require
from satellite.uow import UnitOfWork

CATEGORIES = ("A", "B", "C", "D")
DEFAULT = "A"
RESTRICTED = frozenset({"C", "D"})
# The record of a Central response that sets an account's category (cloudsync.records).
RECORD = "account_category"


def allows_export(category: str) -> bool:
    """Whether accounts of this category may use export-controlled functionality."""
    return category not in RESTRICTED


def refusal(category: str) -> str:
    """Why a device of an account in a restricted category may not use an export-controlled tag."""
    return (f"export-controlled: the account's export-control category {category} does not "
            "allow export-controlled functionality")


def clean_category(value: object, field: str = "export_category") -> str:
    """A category letter, upper-cased. Raises InvalidInput."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if text not in CATEGORIES:
        raise InvalidInput(f"export-control category {str(value)[:20]!r} is not one of "
                           f"{', '.join(CATEGORIES)}", field=field)
    return text


def check_token(account: Account, export_controlled: bool) -> None:
    """Refuse a token allowing export-controlled functionality for a restricted account."""
    if export_controlled and not allows_export(account.export_category):
        raise PermissionDenied(
            f"account {account.name!r} is in export-control category "
            f"{account.export_category}: a registration token cannot allow export-controlled "
            "functionality", field="export_controlled")


def check_reservation(account: Account, permanent: bool, export_tags: Iterable[str]) -> None:
    """Refuse a reservation that would hold export-controlled functionality for a restricted
    account: a permanent one (it unlocks everything), or one naming export-controlled tags."""
    if allows_export(account.export_category):
        return
    where = f"account {account.name!r} is in export-control category {account.export_category}"
    if permanent:
        raise PermissionDenied(f"{where}: a permanent reservation (PLR) would unlock "
                               "export-controlled functionality; reserve specific licenses")
    tags = sorted(export_tags)
    if tags:
        raise PermissionDenied(f"{where}: export-controlled licenses cannot be reserved "
                               f"({', '.join(tags)})", field="licenses")


def set_category(uow: UnitOfWork, actor: Actor, account_ref: str, category: str) -> Account:
    """Change an account's category (system administrators only), audited. Raises
    InvalidInput / NotFound / PermissionDenied."""
    category = clean_category(category)
    account = account_for(uow.session, actor, account_ref, "account.view")
    require(uow.session, actor, "account.export_category",
            not_found=f"no account named {account_ref!r}")
    _change(uow, actor, account, category, "operator")
    return account


def _change(uow: UnitOfWork, actor: Actor, account: Account, category: str,
            source: str) -> bool:
    before = account.export_category
    if before == category:
        return False
    account.export_category = category
    record(uow, actor, "account.set_export_category", f"account:{account.domain}",
           account_id=account.id,
           details={"before": before, "after": category, "source": source})
    return True


@dataclass(frozen=True)
class CategoryRecord:
    """Central's word on an account's category, carried in a response."""

    account: str  # the account's domain identifier
    category: str

    def to_record(self) -> dict[str, Any]:
        return {"type": RECORD, "account": self.account, "category": self.category}

    @classmethod
    def from_record(cls, rec: Mapping[str, Any], number: int) -> CategoryRecord:
        """Raises InvalidInput naming the record when it is not well formed."""
        where = f"account category record {number}"
        if set(rec) != {"type", "account", "category"}:
            raise InvalidInput(f"{where}: an account category has the fields account, "
                               "category, type")
        try:
            account = check_text(rec["account"], "account", 253)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc.message}") from None
        try:
            category = clean_category(rec["category"])
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc.message}") from None
        return cls(account.strip().lower(), category)


@dataclass(frozen=True)
class CentralCategories:
    """What a response's category records did: changes made, unchanged, unknown accounts."""

    changed: tuple[str, ...] = ()  # "domain: A -> C"
    unchanged: int = 0
    unknown: tuple[str, ...] = ()


def apply_central(uow: UnitOfWork, actor: Actor,
                  records: Iterable[Mapping[str, Any]]) -> CentralCategories:
    """Apply the category records of a verified response from Central, each change audited.

    Accounts not on this satellite are passed over. Raises InvalidInput for a malformed record.
    """
    wanted = {}
    for number, rec in enumerate(records, start=1):
        parsed = CategoryRecord.from_record(rec, number)
        wanted[parsed.account] = parsed.category
    if not wanted:
        return CentralCategories()
    found = {a.domain: a for a in _accounts(uow.session, sorted(wanted))}
    changed, unchanged = [], 0
    for domain, category in sorted(wanted.items()):
        account = found.get(domain)
        if account is None:
            continue
        before = account.export_category
        if _change(uow, actor, account, category, "central"):
            changed.append(f"{domain}: {before} -> {category}")
        else:
            unchanged += 1
    return CentralCategories(tuple(changed), unchanged,
                             tuple(sorted(set(wanted) - set(found))))


def _accounts(session: Session, domains: list[str]) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.domain.in_(domains))))
