"""A device's agent: its key and state under a directory, and what it last heard."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from satellite.agent import evaluation
from satellite.agent.client import DeviceClient, Now, utcnow, with_retries
from satellite.agent.state import AgentState
from satellite.agent.transport import Transport, Unreachable
from satellite.devices.messages import ClassicHolding, format_time, parse_time

# After a failed call the next attempt waits 1 h, 2 h, 4 h ... up to the renewal interval.
RETRY_BASE = timedelta(hours=1)


class NotRegistered(Exception):
    def __init__(self) -> None:
        super().__init__("this device is not registered: run `satellite-agent register` first")


class Agent:
    def __init__(self, state_dir: Path, now: Now = utcnow, attempts: int = 4,
                 base_delay: float = 1.0, sleep: Callable[[float], None] | None = None) -> None:
        self.state = AgentState(state_dir)
        self._now = now
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep
        self._open: list[Transport] = []

    def _client(self, url: str | None = None, ca_file: str | None = None) -> DeviceClient:
        data = self.state.data
        target = url or data.get("url")
        if not target:
            raise NotRegistered()
        transport = Transport(target, ca_file=ca_file or data.get("caFile"))
        self._open.append(transport)
        return DeviceClient(transport, self.state.private_key(), data.get("deviceId"),
                            data.get("satelliteKey"), self._now)

    def _call(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"attempts": self._attempts, "base_delay": self._base_delay}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        try:
            document = with_retries(call, **kwargs)
        except Unreachable as exc:
            self._note_failure()
            raise Unreachable(f"{exc}; {self._what_is_kept()}") from None
        finally:
            # The connection of this call is not kept: an agent runs one command and exits.
            while self._open:
                self._open.pop().close()
        self.state.save(failures=0, lastContactAt=format_time(self._now()), nextAttemptAt=None)
        return document

    def _what_is_kept(self) -> str:
        """What an unreachable satellite leaves this device with, as it is."""
        last = self.state.data.get("lastAuthorization") or {}
        if self.authorization_valid():
            return (f"the last authorization is kept until it expires "
                    f"({last['authorizationExpiresAt']})")
        if last:
            return f"the last authorization expired at {last['authorizationExpiresAt']}"
        return "this device holds no authorization yet"

    def _note_failure(self) -> None:
        failures = int(self.state.data.get("failures", 0)) + 1
        renew_days = self.state.data.get("policy", {}).get("authorizationRenewDays", 30)
        wait = min(RETRY_BASE * 2 ** (failures - 1), timedelta(days=renew_days))
        self.state.save(failures=failures, nextAttemptAt=format_time(self._now() + wait))

    def register(self, url: str, token: str, pid: str, sn: str, hostname: str = "",
                 product_tag: str = "", vid: str = "", uuid: str = "",
                 ca_file: str | None = None) -> dict[str, Any]:
        """Register; `ca_file` is the CA bundle that vouches for the satellite's TLS certificate."""
        client = self._client(url, ca_file)
        # A registration is a fresh start: trust the satellite that answers it.
        client.satellite_key = None
        started = (self.state.data.get(evaluation.KEY) or {}).get("startedAt")
        document = self._call(lambda: client.register(token, pid, sn, hostname, product_tag,
                                                      vid, uuid, started))
        self.state.save(
            url=url, caFile=ca_file, deviceId=document["deviceId"], udi={"pid": pid, "sn": sn},
            hostname=hostname, satelliteKey=document["satelliteKey"],
            certificate=document["certificate"],
            certificateExpiresAt=document["certificateExpiresAt"],
            caChain=document["caChain"], policy=document["policy"],
            account=document["account"], virtualAccount=document["virtualAccount"],
            status="REGISTERED", lastAuthorization=None, nextCallAt=document["nextCallAt"],
            evaluation=evaluation.stop(self.state.data, self._now()), lastEvaluation=None,
        )
        return document

    def _registered(self) -> DeviceClient:
        if not self.state.registered:
            raise NotRegistered()
        return self._client()

    def report(self, usage: Mapping[str, int],
               classic: Sequence[ClassicHolding] = ()) -> dict[str, Any]:
        """Report usage to the satellite; unregistered, use it under the evaluation clock."""
        if not self.state.registered:
            return self._evaluate(usage)
        client = self._registered()
        document = self._call(lambda: client.report(usage, classic))
        self.state.save(lastAuthorization=document, status=document["status"],
                        nextCallAt=document["nextCallAt"])
        return document

    def _evaluate(self, usage: Mapping[str, int]) -> dict[str, Any]:
        """Use features before registration: the evaluation clock runs (nothing is sent)."""
        now = self._now()
        self.state.save(evaluation=evaluation.start(self.state.data, now))
        left = evaluation.days_left(self.state.data, now) or 0
        status = evaluation.EVALUATION if left else evaluation.EVALUATION_EXPIRED
        document = {"type": "evaluation", "status": status, "timestamp": format_time(now),
                    "evaluationDaysLeft": left,
                    "evaluation": evaluation.describe(self.state.data, False, now),
                    "tags": [{"tag": tag, "count": count, "status": status}
                             for tag, count in sorted(usage.items())]}
        self.state.save(lastEvaluation=document)
        return document

    def renew(self) -> dict[str, Any]:
        client = self._registered()
        document = self._call(client.renew)
        self.state.save(certificate=document["certificate"],
                        certificateExpiresAt=document["certificateExpiresAt"],
                        caChain=document["caChain"])
        return document

    def deregister(self) -> dict[str, Any]:
        client = self._registered()
        document = self._call(client.deregister)
        self.state.save(status="DEREGISTERED", lastAuthorization=None)
        return document

    def authorization_valid(self, at: datetime | None = None) -> bool:
        """Whether the last authorization still holds (it does until it expires, reachable or not)."""
        last = self.state.data.get("lastAuthorization")
        if not last:
            return False
        return parse_time(last["authorizationExpiresAt"], "authorizationExpiresAt") > (
            at or self._now())

    def status(self) -> dict[str, Any]:
        data = self.state.data
        last = data.get("lastAuthorization") or {}
        now = self._now()
        return {
            "registered": self.state.registered, "url": data.get("url"),
            "deviceId": data.get("deviceId"), "udi": data.get("udi"),
            "status": data.get("status", "UNREGISTERED"),
            "account": data.get("account"), "virtualAccount": data.get("virtualAccount"),
            "certificateExpiresAt": data.get("certificateExpiresAt"),
            "authorizationExpiresAt": last.get("authorizationExpiresAt"),
            "authorizationValid": self.authorization_valid(),
            "tags": {t["tag"]: t["status"] for t in last.get("tags", [])},
            "reasons": {t["tag"]: t["reason"] for t in last.get("tags", []) if t.get("reason")},
            "evaluation": evaluation.describe(data, self.state.registered, now),
            "evaluationDaysLeft": evaluation.days_left(data, now),
            "nextCallAt": data.get("nextCallAt"), "lastContactAt": data.get("lastContactAt"),
            "failures": data.get("failures", 0), "nextAttemptAt": data.get("nextAttemptAt"),
        }
