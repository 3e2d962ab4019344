"""The one rule for a device identity (UDI), whatever brings it in.

Device registration, reservation request codes, the REST API, the CLI and SLUP usage reports
all check a product id, serial number, version id and UUID here, so a UDI one entry point
accepts is accepted by every other, and reads back the same (`PID:<pid>,SN:<sn>` and `PID:SN`
stay unambiguous because neither part may hold ':' or ',').

Dependency-free apart from satellite.errors and satellite.limits, so any adapter or parser
may import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from satellite.errors import InvalidInput
from satellite.limits import quoted

MAX_PID = 64
MAX_SERIAL = 64
MAX_VID = 16
MAX_UUID = 64
# Printable ASCII without the space and the two separators of the written forms.
_FORBIDDEN = frozenset(":,")
RULE = "printable ASCII without spaces, ':' or ','"


@dataclass(frozen=True)
class Udi:
    pid: str
    sn: str
    vid: str = ""
    uuid: str = ""

    def label(self) -> str:
        """The written form devices are shown and searched by."""
        return f"PID:{self.pid},SN:{self.sn}"


def check_part(value: object, field: str, limit: int, *, required: bool = True) -> str:
    """One part of a UDI, unchanged when valid.

    Raises InvalidInput naming `field` when it is not 1..limit (0..limit when optional)
    characters of printable ASCII without spaces, ':' or ','.
    """
    low = 1 if required else 0
    if (not isinstance(value, str) or not low <= len(value) <= limit
            or any(not "!" <= c <= "~" or c in _FORBIDDEN for c in value)):
        need = "is required:" if required and (value is None or value == "") else "must be"
        raise InvalidInput(f"{field} {need} {low} to {limit} characters of {RULE}"
                           + ("" if value is None or value == "" else f", not {quoted(value)}"),
                           field=field)
    return value


def check_udi(pid: object, sn: object, vid: object = "", uuid: object = "", *,
              names: tuple[str, str, str, str] = ("pid", "sn", "vid", "uuid")) -> Udi:
    """A UDI from its parts; `names` are the fields as the caller's input calls them.

    Raises InvalidInput naming the first part that breaks the rule.
    """
    return Udi(check_part(pid, names[0], MAX_PID), check_part(sn, names[1], MAX_SERIAL),
               check_part("" if vid is None else vid, names[2], MAX_VID, required=False),
               check_part("" if uuid is None else uuid, names[3], MAX_UUID, required=False))

