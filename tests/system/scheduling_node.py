"""One scheduler node for the leader tests: `python -m tests.system.scheduling_node URL NODE SECONDS`.

Its only job appends (node, time) to the table `job_runs`, so the test can count runs per node.
"""

from __future__ import annotations

import signal
import sys
import threading

from sqlalchemy import text

from satellite.config import load_settings
from satellite.db import make_engine
from satellite.leader import leadership_for
from satellite.scheduler import Job, build_scheduler
from satellite.uow import Database


def main(url: str, node: str, seconds: float) -> None:
    db = Database(make_engine(url))
    settings = load_settings(env={}, overrides={"database_url": url})

    def count(database: Database, _settings: object) -> None:
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO job_runs (node, at) VALUES (:node, clock_timestamp())"),
                         {"node": node})

    leadership = leadership_for(db.engine)
    scheduler = build_scheduler(db, settings, leadership, [Job("count", count, seconds)])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    print("started", flush=True)
    stop.wait()
    scheduler.shutdown(wait=True)
    leadership.close()
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
