"""`satellite serve`: waitress in front of the app, the scheduler beside it."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from waitress import create_server

from satellite.bootstrap import open_database, require_initialised
from satellite.config import Settings
from satellite.leader import leadership_for
from satellite.scheduler import build_scheduler
from satellite.web import create_app

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str, port: int) -> None:
    db = open_database(settings)
    require_initialised(db)
    app = create_app(settings, db)
    proxy: dict[str, object] = {}
    if settings.trusted_proxy:
        proxy = {"trusted_proxy": settings.trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                                           "x-forwarded-port"},
                 "clear_untrusted_proxy_headers": True}
    server = create_server(app, host=host, port=port, threads=settings.threads, ident="satellite", **proxy)
    leadership = leadership_for(db.engine)
    scheduler = build_scheduler(db, settings, leadership)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        # waitress ends its loop on SystemExit and lets running requests finish.
        log.info("received signal %d, stopping", signum)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler.start()
    print(f"Satellite listening on http://{host}:{server.effective_port}", flush=True)
    try:
        server.run()
    finally:
        server.close()
        scheduler.shutdown(wait=False)
        leadership.close()
        db.dispose()
        log.info("stopped")
