"""Deposit rules: where lines that Central sends with no VA named go, per account.

An account's rules are ordered; the first whose pattern matches a line's tag (or display name)
names the VA, else the line goes to the Default VA. A line that names its VA keeps it. Rules
place a line only when it first arrives: where it was placed is kept (LinePlacement), so a
changed or removed rule never moves licenses that are already in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import account_for, get_va
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.cloudsync.models import HoldingLine
from satellite.errors import InvalidInput, NotFound
from satellite.licenses.models import RULE_MATCHES, DepositRule, LicenseLine, LinePlacement
from satellite.limits import check_int, check_text
from satellite.uow import UnitOfWork

MANAGE = "deposit_rule.manage"
_GLOB = set("*?[")


def matches(match: str, pattern: str, tag: str, display_name: str) -> bool:
    """Whether a rule matches a line: the tag exactly or by glob (case counts, as in tags);
    the display name by glob, case ignored."""
    if match == "tag":
        return fnmatchcase(tag, pattern) if _GLOB & set(pattern) else tag == pattern
    return bool(display_name) and fnmatchcase(display_name.casefold(), pattern.casefold())


def describe(rule: DepositRule) -> str:
    return f"rule {rule.id} ({rule.match} {rule.pattern})"


@dataclass(frozen=True)
class Placement:
    """What the rules did (or, in a dry run, would do) with one newly arrived line."""

    line_id: str
    account: str
    tag: str
    va: str
    rule: str | None  # None: no rule matched, the Default VA

    def to_json(self) -> dict[str, Any]:
        return {"line_id": self.line_id, "account": self.account, "tag": self.tag,
                "va": self.va, "rule": self.rule}


class Placer:
    """Applies every account's rules during one import; rules and placements read once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.placements: list[Placement] = []
        self._rules: dict[int, list[tuple[DepositRule, VirtualAccount]]] = {}
        self._placed: dict[int, dict[str, VirtualAccount]] = {}
        self._known: set[str] | None = None

    def place(self, account: Account, line_id: str, tag: str,
              display_name: str) -> VirtualAccount | None:
        """The VA for a line that names none, or None for the Default VA."""
        placed = self._placements(account.id)
        if line_id in placed:
            return placed[line_id]
        rules = self._account_rules(account.id)
        if not rules or line_id in self._lines_present():
            return None  # no rules, or the line arrived before they did: it stays put
        found = next(((rule, va) for rule, va in rules
                      if matches(rule.match, rule.pattern, tag, display_name)), None)
        if found is None:
            self.placements.append(Placement(line_id, account.domain, tag, "Default", None))
            return None
        rule, va = found
        self.session.add(LinePlacement(origin_id=line_id, va_id=va.id, rule_id=rule.id))
        placed[line_id] = va
        self.placements.append(Placement(line_id, account.domain, tag, va.name, describe(rule)))
        return va

    def forget_gone(self) -> None:
        """Placements of lines no longer on this satellite go (a line sent again is new)."""
        self.session.execute(delete(LinePlacement).where(
            LinePlacement.origin_id.not_in(select(LicenseLine.origin_id)),
            LinePlacement.origin_id.not_in(select(HoldingLine.line_id))))

    def _account_rules(self, account_id: int) -> list[tuple[DepositRule, VirtualAccount]]:
        if account_id not in self._rules:
            self._rules[account_id] = [(r, v) for r, v in self.session.execute(
                select(DepositRule, VirtualAccount)
                .join(VirtualAccount, VirtualAccount.id == DepositRule.va_id)
                .where(DepositRule.account_id == account_id)
                .order_by(DepositRule.position, DepositRule.id))]
        return self._rules[account_id]

    def _placements(self, account_id: int) -> dict[str, VirtualAccount]:
        if account_id not in self._placed:
            self._placed[account_id] = {origin: va for origin, va in self.session.execute(
                select(LinePlacement.origin_id, VirtualAccount)
                .join(VirtualAccount, VirtualAccount.id == LinePlacement.va_id)
                .where(VirtualAccount.account_id == account_id))}
        return self._placed[account_id]

    def _lines_present(self) -> set[str]:
        if self._known is None:
            self._known = set(self.session.scalars(select(LicenseLine.origin_id).distinct()))
        return self._known


def place_deposit(session: Session, origin_id: str, va: VirtualAccount) -> None:
    """Remember a deposited line's VA, unless the line was placed before."""
    if session.get(LinePlacement, origin_id) is None:
        session.add(LinePlacement(origin_id=origin_id, va_id=va.id, rule_id=None))


# The services behind the CLI, the REST API and the web UI.

def _clean(match: str, pattern: str) -> tuple[str, str]:
    if match not in RULE_MATCHES:
        raise InvalidInput(f"a rule matches on {' or '.join(RULE_MATCHES)}, not {match!r}",
                           field="match")
    pattern = check_text(pattern, "pattern", 255).strip()
    if not pattern:
        raise InvalidInput("pattern is required", field="pattern")
    return match, pattern


def _ordered(session: Session, account_id: int) -> list[DepositRule]:
    return list(session.scalars(select(DepositRule).where(DepositRule.account_id == account_id)
                                .order_by(DepositRule.position, DepositRule.id)))


def _renumber(rules: list[DepositRule]) -> None:
    for position, rule in enumerate(rules, start=1):
        rule.position = position


def _find(session: Session, account: Account, rule_id: int) -> DepositRule:
    rule = session.get(DepositRule, rule_id)
    if rule is None or rule.account_id != account.id:
        raise NotFound(f"account {account.name!r} has no deposit rule {rule_id}")
    return rule


def list_rules(session: Session, actor: Actor,
               account_ref: str) -> tuple[Account, list[dict[str, Any]]]:
    """An account's rules in the order they are tried."""
    account = account_for(session, actor, account_ref, MANAGE)
    rows = session.execute(
        select(DepositRule, VirtualAccount.name)
        .join(VirtualAccount, VirtualAccount.id == DepositRule.va_id)
        .where(DepositRule.account_id == account.id)
        .order_by(DepositRule.position, DepositRule.id))
    return account, [rule_json(rule, va) for rule, va in rows]


def rule_json(rule: DepositRule, va_name: str) -> dict[str, Any]:
    return {"id": rule.id, "position": rule.position, "match": rule.match,
            "pattern": rule.pattern, "virtualAccount": va_name}


def add_rule(uow: UnitOfWork, actor: Actor, account_ref: str, match: str, pattern: str,
             va_name: str, position: int | None = None) -> dict[str, Any]:
    """Add a rule, last or at `position` (1 is tried first). Raises InvalidInput, NotFound."""
    session = uow.session
    account = account_for(session, actor, account_ref, MANAGE)
    match, pattern = _clean(match, pattern)
    va = get_va(session, account, va_name)
    rules = _ordered(session, account.id)
    if position is not None:
        check_int(position, "position", 1, len(rules) + 1)
    rule = DepositRule(account_id=account.id, position=0, match=match, pattern=pattern,
                       va_id=va.id, created_at=uow.clock.now())
    session.add(rule)
    rules.insert((position or len(rules) + 1) - 1, rule)
    _renumber(rules)
    session.flush()
    record(uow, actor, "deposit_rule.add", f"deposit-rule:{account.domain}/{rule.id}",
           account_id=account.id, details={"match": match, "pattern": pattern, "va": va.name,
                                           "position": rule.position})
    return rule_json(rule, va.name)


def remove_rule(uow: UnitOfWork, actor: Actor, account_ref: str, rule_id: int) -> None:
    """Remove a rule; lines it placed stay where they are. Raises NotFound."""
    session = uow.session
    account = account_for(session, actor, account_ref, MANAGE)
    rule = _find(session, account, rule_id)
    details = {"match": rule.match, "pattern": rule.pattern, "position": rule.position}
    session.delete(rule)
    session.flush()
    _renumber(_ordered(session, account.id))
    record(uow, actor, "deposit_rule.remove", f"deposit-rule:{account.domain}/{rule_id}",
           account_id=account.id, details=details)


def move_rule(uow: UnitOfWork, actor: Actor, account_ref: str, rule_id: int,
              position: int) -> dict[str, Any]:
    """Move a rule to `position` (1 is tried first). Raises NotFound, InvalidInput."""
    session = uow.session
    account = account_for(session, actor, account_ref, MANAGE)
    rule = _find(session, account, rule_id)
    rules = [r for r in _ordered(session, account.id) if r.id != rule.id]
    check_int(position, "position", 1, len(rules) + 1)
    before = rule.position
    rules.insert(position - 1, rule)
    _renumber(rules)
    record(uow, actor, "deposit_rule.move", f"deposit-rule:{account.domain}/{rule_id}",
           account_id=account.id, details={"from": before, "to": rule.position})
    va = session.get(VirtualAccount, rule.va_id)
    return rule_json(rule, va.name if va else "")

