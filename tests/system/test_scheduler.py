"""The scheduler's rules, with a fixed clock: when a job is due, what a run leaves behind."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from satellite.clock import FixedClock
from satellite.config import Settings, load_settings
from satellite.errors import ConfigError
from satellite.jobruns import RETENTION, recent_runs
from satellite.jobs import Job
from satellite.leader import SingleNode, node_name
from satellite.scheduler import _tick, is_due, run_job, scheduled_jobs
from satellite.uow import Database


def _count(calls: list[str]) -> Job:
    return Job("count", lambda db, settings: calls.append("ran"), 600)


def test_a_job_is_due_an_interval_after_its_last_run_on_any_node(
        db: Database, settings: Settings, clock: FixedClock) -> None:
    calls: list[str] = []
    job = _count(calls)
    assert is_due(db, job)
    _tick(job, db, settings, SingleNode())
    assert calls == ["ran"]
    clock.advance(timedelta(seconds=500))
    _tick(job, db, settings, SingleNode())
    assert calls == ["ran"], "ran twice within one interval"
    clock.advance(timedelta(seconds=100))
    _tick(job, db, settings, SingleNode())
    assert calls == ["ran", "ran"]


def test_a_node_that_does_not_lead_never_runs_a_job(db: Database, settings: Settings) -> None:
    class Follower(SingleNode):
        def is_leader(self) -> bool:
            return False

    calls: list[str] = []
    _tick(_count(calls), db, settings, Follower())
    assert calls == []


def test_each_run_is_kept_with_its_node_and_outcome_for_a_week(
        db: Database, settings: Settings, clock: FixedClock) -> None:
    def failing(_db: Database, _settings: Settings) -> None:
        raise RuntimeError("disk full")

    run_job(Job("flaky", failing, 60), db, settings)
    clock.advance(RETENTION - timedelta(minutes=1))
    run_job(Job("flaky", lambda d, s: None, 60), db, settings)
    with db.reader() as uow:
        first, second = recent_runs(uow.session, "flaky")
    assert (first.outcome, first.error, first.node) == ("failed", "RuntimeError: disk full", node_name())
    assert second.outcome == "ok"
    clock.advance(timedelta(minutes=2))
    run_job(Job("flaky", lambda d, s: None, 60), db, settings)
    with db.reader() as uow:
        assert [r.outcome for r in recent_runs(uow.session, "flaky")] == ["ok", "ok"]


def test_job_intervals_setting_changes_a_named_job_and_refuses_unknown_names(settings: Settings) -> None:
    jobs = [Job("age-devices", lambda d, s: None, 3600), Job("alerts", lambda d, s: None, 3600)]
    chosen = load_settings(data_dir=settings.data_dir, env={},
                           overrides={"job_intervals": "age-devices=90"})
    assert [j.interval_seconds for j in scheduled_jobs(chosen, jobs)] == [90, 3600]
    typo = load_settings(data_dir=settings.data_dir, env={}, overrides={"job_intervals": "aging=90"})
    with pytest.raises(ConfigError, match="no scheduled job is called 'aging'"):
        scheduled_jobs(typo, jobs)
    for bad in ("age-devices", "age-devices=0", "age-devices=soon", "=5", "age-devices=nan"):
        with pytest.raises(ConfigError, match="setting job_intervals"):
            load_settings(env={}, overrides={"job_intervals": bad})


def test_every_domain_lists_its_jobs_by_verb_object_names_and_old_names_still_set_intervals(
        settings: Settings, tmp_path: Path) -> None:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a long backup passphrase\n")
    everything = load_settings(data_dir=settings.data_dir, env={}, overrides={
        "central_url": "https://central.example.com", "backup_dir": str(tmp_path / "backups"),
        "backup_passphrase_file": str(passphrase),
        "job_intervals": "alerts=120,reservation.release_ended_terms=240"})
    chosen = {job.name: job.interval_seconds for job in scheduled_jobs(everything)}
    assert set(chosen) == {"check-alerts", "deliver-alerts", "backup", "sync", "age-devices",
                           "refresh-pools", "usage-history", "release-ended-terms",
                           "check-clock", "check-storage", "review-evaluations"}
    assert all(name == name.lower() and "_" not in name and "." not in name for name in chosen)
    assert chosen["check-alerts"] == 120 and chosen["release-ended-terms"] == 240
