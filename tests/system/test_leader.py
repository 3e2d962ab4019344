from __future__ import annotations

from sqlalchemy import create_engine

from satellite.leader import AdvisoryLockLeader, SingleNode, leader_lock_key, leadership_for
from tests.conftest import PgSchema


def test_a_second_leader_is_refused_until_the_first_lets_go(pg_schema: PgSchema) -> None:
    engine_a, engine_b = create_engine(pg_schema.url), create_engine(pg_schema.url)
    key = leader_lock_key("test-satellite")
    first, second = AdvisoryLockLeader(engine_a, key), AdvisoryLockLeader(engine_b, key)
    try:
        assert first.is_leader()
        assert first.is_leader()
        assert not second.is_leader()
        first.close()
        assert second.is_leader()
        assert not first.is_leader()
    finally:
        first.close()
        second.close()
        engine_a.dispose()
        engine_b.dispose()


def test_sqlite_assumes_a_single_node() -> None:
    engine = create_engine("sqlite://")
    leadership = leadership_for(engine, "test-satellite")
    assert isinstance(leadership, SingleNode)
    assert leadership.is_leader()


def test_satellites_sharing_a_postgresql_database_elect_their_own_leaders(pg_schema: PgSchema) -> None:
    # Advisory locks are per database: a lock keyed by the satellite lets two satellites in two
    # schemas of one database each run their jobs.
    engine_a, engine_b = create_engine(pg_schema.url), create_engine(pg_schema.url)
    one = AdvisoryLockLeader(engine_a, leader_lock_key("satellite-one"))
    other = AdvisoryLockLeader(engine_b, leader_lock_key("satellite-two"))
    try:
        assert one.is_leader()
        assert other.is_leader()
    finally:
        one.close()
        other.close()
        engine_a.dispose()
        engine_b.dispose()


def test_any_node_can_tell_which_node_leads(pg_schema: PgSchema) -> None:
    from satellite.leader import leader_node, node_name

    engine_a, engine_b = create_engine(pg_schema.url), create_engine(pg_schema.url)
    leader = AdvisoryLockLeader(engine_a, leader_lock_key("test-satellite"))
    try:
        assert leader_node(engine_b, "test-satellite") is None
        assert leader.is_leader()
        assert leader_node(engine_b, "test-satellite") == node_name()
        assert leader_node(engine_b, "another-satellite") is None
        leader.close()
        assert leader_node(engine_b, "test-satellite") is None
    finally:
        leader.close()
        engine_a.dispose()
        engine_b.dispose()
    assert leader_node(create_engine("sqlite://"), "test-satellite") is None
