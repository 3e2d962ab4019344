"""`satellite serve`: waitress in front of the app, the scheduler beside it."""

from __future__ import annotations

import errno
import gc
import logging
import os
import signal
from types import FrameType

from satellite.bootstrap import open_database, require_initialised
from satellite.config import Settings
from satellite.errors import ConfigError
from satellite.keystore import open_keystore
from satellite.leader import leadership_for, node_name
from satellite.nodekeys import check_node
from satellite.scheduler import build_scheduler
from satellite.tokens.secrets import TokenSealer
from satellite.web import create_app
from satellite.web.bodylimits import upload_limit
from satellite.web.httpchannel import create_http_server

log = logging.getLogger(__name__)


def _bind_failure(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {host}:{port}: the port is in use by another program "
                "(choose another with --port or SATELLITE_PORT)")
    if exc.errno == errno.EACCES:
        return (f"cannot listen on {host}:{port}: permission denied (ports below 1024 need "
                "privileges; choose another with --port or SATELLITE_PORT)")
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def batch_scheduling() -> None:
    """Have Linux schedule this thread, and the threads it starts after, as batch work.

    A server's threads take turns on one interpreter lock. When one wakes another (a
    check-in whose batch was committed), Linux lets the woken thread preempt the waker,
    which still holds the lock: both then wait. A batch thread is not preempted on wake-up
    (SCHED_BATCH; same priority, no privilege needed). Elsewhere, or if refused, nothing
    changes.
    """
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None or not hasattr(os, "sched_setscheduler"):
        return
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError as exc:
        log.debug("batch scheduling refused: %s", exc)


def serve(settings: Settings, host: str, port: int) -> None:
    batch_scheduling()
    db = open_database(settings)
    satellite_id = require_initialised(db)
    app = create_app(settings, db)
    TokenSealer.for_data_dir(settings.data_dir)
    if db.engine.dialect.name == "postgresql":
        # Other nodes may serve this database: they must all hold the same keys.
        check_node(db, open_keystore(settings))
    leadership = leadership_for(db.engine, satellite_id)
    scheduler = build_scheduler(db, settings, leadership)
    proxy: dict[str, object] = {}
    if settings.trusted_proxy:
        proxy = {"trusted_proxy": settings.trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                                           "x-forwarded-port"},
                 "clear_untrusted_proxy_headers": True}
    try:
        server = create_http_server(app, host=host, port=port, threads=settings.threads,
                                    ident="satellite",
                                    # No body past the largest route limit is even buffered.
                                    max_request_body_size=upload_limit(settings) + 1024 * 1024,
                                    **proxy)
    except OSError as exc:
        db.dispose()
        raise ConfigError(_bind_failure(host, port, exc)) from None

    def _stop(signum: int, _frame: FrameType | None) -> None:
        # waitress ends its loop on SystemExit and lets running requests finish.
        log.info("received signal %d, stopping", signum)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # What start-up made (modules, the app, the mappings) lives as long as the process: kept
    # out of the cyclic collector's full passes, which otherwise walk it all every few pages
    # that load thousands of rows, adding tens of milliseconds to those pages.
    gc.collect()
    gc.freeze()
    scheduler.start()
    log.info("node %s serving", node_name())
    print(f"Satellite listening on http://{host}:{server.effective_port}", flush=True)
    try:
        server.run()
    finally:
        server.close()
        scheduler.shutdown(wait=False)
        leadership.close()
        db.dispose()
        log.info("stopped")
