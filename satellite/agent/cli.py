"""`satellite-agent`: the device side for labs, scripts and load tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from satellite.agent.agent import Agent, NotRegistered
from satellite.agent.client import BadAnswer, Refused
from satellite.agent.reservation_cli import reservation
from satellite.agent.simulate import simulate
from satellite.agent.transport import TlsFailure, Unreachable
from satellite.devices.messages import CLASSIC_LICENSES, ClassicHolding
from satellite.errors import SatelliteError


def _emit(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def _usage(pairs: tuple[str, ...]) -> dict[str, int]:
    usage: dict[str, int] = {}
    for pair in pairs:
        tag, sep, count = pair.rpartition("=")
        if not sep or not tag or not count.isdigit():
            raise click.BadParameter(f"{pair!r} is not TAG=COUNT", param_hint="usage")
        usage[tag] = int(count)
    return usage


@click.group()
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("agent-state"), show_default=True,
              help="Directory holding the device key and state.")
@click.option("--retries", default=4, show_default=True,
              help="Attempts per call when the satellite cannot be reached.")
@click.pass_context
def cli(ctx: click.Context, state_dir: Path, retries: int) -> None:
    """Satellite device agent (device protocol v1)."""
    ctx.obj = Agent(state_dir, attempts=max(1, retries))


@cli.command()
@click.option("--url", required=True, help="The satellite, e.g. http://satellite.example:8080")
@click.option("--token", required=True, help="Registration token from `satellite token create`.")
@click.option("--pid", required=True, help="Product id (PID) of the UDI.")
@click.option("--sn", required=True, help="Serial number of the UDI.")
@click.option("--hostname", default="", help="Host name shown to operators.")
@click.option("--product-tag", default="", help="The product's own entitlement tag.")
@click.option("--vid", default="")
@click.option("--uuid", "uuid_", default="")
@click.option("--ca-file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="CA certificate(s) that vouch for the satellite's HTTPS certificate.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def register(agent: Agent, url: str, token: str, pid: str, sn: str, hostname: str,
             product_tag: str, vid: str, uuid_: str, ca_file: str | None, as_json: bool) -> None:
    """Register this device with a token."""
    document = agent.register(url, token, pid, sn, hostname, product_tag, vid, uuid_,
                              ca_file=ca_file)
    if as_json:
        _emit(document)
        return
    click.echo(f"Registered as device {document['deviceId']} in {document['account']} / "
               f"{document['virtualAccount']}; ID certificate valid until "
               f"{document['certificateExpiresAt']}")


def _classic(ctx: click.Context, param: click.Parameter,
             values: tuple[str, ...]) -> tuple[ClassicHolding, ...]:
    """PAK:SKU or PAK:SKU:N, as in `--classic 3300J1234567:L-SEC-K9`."""
    found = []
    for value in values:
        parts = value.split(":")
        if len(parts) not in (2, 3) or not all(p.strip() for p in parts) \
                or (len(parts) == 3 and not parts[2].strip().isdigit()):
            raise click.BadParameter(f"{value!r} is not PAK:SKU or PAK:SKU:N", ctx, param)
        found.append(ClassicHolding(parts[0].strip(), parts[1].strip(),
                                    int(parts[2]) if len(parts) == 3 else 1))
    return tuple(found)


@cli.command()
@click.argument("usage", nargs=-1)
@click.option("--classic", "classic", multiple=True, callback=_classic,
              help="A classic license this device still holds, PAK:SKU[:N] (repeatable): "
                   "the satellite asks Central to convert it.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def report(agent: Agent, usage: tuple[str, ...], classic: tuple[ClassicHolding, ...],
           as_json: bool) -> None:
    """Report what is in use (TAG=COUNT ...) and print each tag's authorization."""
    document = agent.report(_usage(usage), classic)
    if as_json:
        _emit(document)
        return
    for tag in document["tags"]:
        click.echo(f"{tag['tag']}\t{tag['count']}\t{tag['status']}"
                   + (f"\t{tag['reason']}" if tag.get("reason") else ""))
    if document.get("type") == "evaluation":
        click.echo(f"not registered: {document['evaluation']}")
        return
    for held in document.get(CLASSIC_LICENSES, ()):
        click.echo(f"classic PAK {held['pak']} SKU {held['sku']}\t{held['quantity']}\t"
                   f"{held['status']}\tconversion {held['conversion']}"
                   + (f"\t{held['reason']}" if held.get("reason") else ""))
    click.echo(f"{document['status']} until {document['authorizationExpiresAt']}; "
               f"next call {document['nextCallAt']}")


@cli.command()
@click.pass_obj
def renew(agent: Agent) -> None:
    """Renew the ID certificate."""
    document = agent.renew()
    click.echo(f"ID certificate renewed, valid until {document['certificateExpiresAt']}")


@cli.command()
@click.pass_obj
def deregister(agent: Agent) -> None:
    """Deregister: the satellite releases this device's licenses."""
    agent.deregister()
    click.echo("Deregistered; licenses released")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def status(agent: Agent, as_json: bool) -> None:
    """Show registration and the last authorization (kept while the satellite is unreachable)."""
    info = agent.status()
    if as_json:
        _emit(info)
        return
    for key, value in info.items():
        if key == "reasons":
            for tag, why in value.items():
                click.echo(f"reason {tag}: {why}")
            continue
        click.echo(f"{key}: {value}")


@cli.command("simulate")
@click.option("--url", "urls", required=True, multiple=True,
              help="The satellite; repeat it for several nodes (connections alternate).")
@click.option("--token", required=True)
@click.option("--devices", default=100, show_default=True)
@click.option("--duration", default=10.0, show_default=True, help="Seconds of usage reports.")
@click.option("--concurrency", default=8, show_default=True)
@click.option("--usage", "usage_pairs", multiple=True, metavar="TAG=COUNT",
              help="What each device reports (repeatable).")
@click.option("--presign-rate", default=0, show_default=True, metavar="N",
              help="Sign N reports per second of --duration before the clock starts and verify "
                   "the answers after it stops, so the measurement is the satellite's "
                   "(0: sign and verify as the reports go).")
@click.option("--json", "as_json", is_flag=True)
def simulate_cmd(urls: tuple[str, ...], token: str, devices: int, duration: float, concurrency: int,
                 usage_pairs: tuple[str, ...], presign_rate: int, as_json: bool) -> None:
    """Register N simulated devices, drive their usage reports, print throughput and latency."""
    if devices < 1 or concurrency < 1 or duration <= 0:
        raise click.BadParameter("devices, concurrency and duration must be positive")
    if presign_rate < 0:
        raise click.BadParameter("must not be negative", param_hint="--presign-rate")
    result = simulate(list(urls), token, devices, duration, concurrency, _usage(usage_pairs),
                      presign_rate=presign_rate)
    if as_json:
        _emit(result.as_dict())
        return
    r, reg = result.reports, result.registration
    click.echo(f"registered {reg.requests} of {result.devices} devices in {reg.seconds:.2f} s "
               f"= {reg.throughput:.1f}/s (key pairs made before); p50 {reg.percentile(50):.2f} "
               f"ms, p99 {reg.percentile(99):.2f} ms; errors {reg.errors}"
               + (f" (first: {reg.first_error})" if reg.errors else ""))
    click.echo(f"usage reports: {r.requests} in {r.seconds:.2f} s = {r.throughput:.1f}/s; "
               f"p50 {r.percentile(50):.2f} ms, p90 {r.percentile(90):.2f} ms, "
               f"p99 {r.percentile(99):.2f} ms; errors {r.errors}"
               + (f" (first: {r.first_error})" if r.errors else ""))


cli.add_command(reservation)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="satellite-agent", standalone_mode=False)
    except (Refused, BadAnswer, NotRegistered, ValueError) as exc:
        sys.exit(_fail(str(exc), 1))
    except SatelliteError as exc:  # the reservation commands' refusals
        sys.exit(_fail(exc.message, exc.exit_code))
    except Unreachable as exc:
        sys.exit(_fail(str(exc), 3))
    except TlsFailure as exc:
        # Not retried: the same certificate or port gives the same refusal every time.
        sys.exit(_fail(str(exc), 4))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        sys.exit(_fail(exc.format_message(), exc.exit_code))
    except click.exceptions.Abort:
        sys.exit(_fail("aborted", 1))
    sys.exit(0)


def _fail(message: str, code: int) -> int:
    click.echo(f"satellite-agent: error: {message}", err=True)
    return code
