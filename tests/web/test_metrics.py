from __future__ import annotations

import logging

import pytest

from satellite.accounts import service
from satellite.actor import Actor
from satellite.config import Settings
from satellite.jobs import Job
from satellite.licenses.models import LicenseLine
from satellite.licenses.usage import set_usage
from satellite.scheduler import job_runs, run_job
from satellite.uow import Database
from satellite.web import create_app

TAG = "regid.2024-01.com.example.router-advantage"


def _short_pool(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        service.create_account(uow, actor, "Acme", "acme.example.com")
        _, va = service.find_va(uow.session, "Acme", "Default")
        uow.session.add(LicenseLine(va_id=va.id, tag=TAG, license_type="PERPETUAL", quantity=1,
                                    start_date=None, end_date=None, origin_id="line-1"))
        uow.session.flush()
        set_usage(uow.session, "device:1", "in_use", {(va.id, TAG): 3})
        uow.commit()


def test_metrics_report_requests_pools_and_jobs(db: Database, settings: Settings, actor: Actor) -> None:
    _short_pool(db, actor)

    def failing(db: Database, settings: Settings) -> None:
        raise RuntimeError("central unreachable")

    run_job(Job("nightly", lambda d, s: None, 60), db, settings)
    run_job(Job("flaky", failing, 60), db, settings)
    client = create_app(settings, db).test_client()
    client.get("/healthz")
    body = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert 'satellite_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in body
    assert "satellite_http_request_duration_seconds_bucket" in body
    assert "satellite_license_pools_out_of_compliance 1.0" in body
    assert 'satellite_job_runs{job="nightly"} 1.0' in body
    assert 'satellite_job_failures{job="flaky"} 1.0' in body
    runs = {r.name: r for r in job_runs(db)}
    assert runs["flaky"].last_outcome == "failed"
    assert runs["flaky"].last_error == "RuntimeError: central unreachable"
    assert runs["nightly"].last_outcome == "ok"


def test_metrics_answer_only_to_allowed_networks(db: Database, settings: Settings) -> None:
    client = create_app(settings, db).test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    wider = Settings(**{**settings.__dict__, "metrics_allowed_networks": "10.0.0.0/8"})
    client = create_app(wider, db).test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_every_request_logs_one_line_with_its_id_and_no_query(
        db: Database, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    client = create_app(settings, db).test_client()
    with caplog.at_level(logging.INFO, logger="satellite.requests"):
        response = client.get("/healthz?token=s3cret-value", headers={"X-Request-Id": "abc123"})
    assert response.headers["X-Request-Id"] == "abc123"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "satellite.requests"]
    assert line.startswith("GET /healthz 200 ")
    assert "id=abc123" in line
    assert "s3cret" not in line


def test_a_request_without_an_id_gets_a_new_one_each_time(db: Database, settings: Settings) -> None:
    client = create_app(settings, db).test_client()
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
