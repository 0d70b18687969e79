"""config/db_pool.py: a borrowed connection costs a round trip only when the server may have ended it.

The engine (config/postgresql/) gives the check to psycopg's pool."""

import select

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from config.db_pool import check_connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def connect():
    params = {key: value for key, value in connection.get_connection_params().items() if key != "pool"}
    return psycopg.connect(**params, autocommit=True)


@pytest.fixture
def conn():
    with connect() as conn:
        yield conn


def wait_readable(conn):
    select.select([conn.pgconn.socket], [], [], 5)


@pytest.fixture
def round_trips(monkeypatch):
    made = []
    full_check = ConnectionPool.check_connection

    def counted(conn):
        made.append(conn)
        full_check(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    return made


def test_a_healthy_idle_connection_passes_without_a_round_trip(conn, round_trips):
    check_connection(conn)
    assert round_trips == []


def test_a_connection_whose_server_process_ended_fails(conn, round_trips):
    with connect() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
    wait_readable(conn)
    with pytest.raises(psycopg.OperationalError):
        check_connection(conn)
    assert round_trips == [conn]


def test_a_connection_with_something_to_read_gets_the_round_trip_and_passes(conn, round_trips):
    conn.execute("LISTEN hub_pool_test")
    with connect() as other:
        other.execute("NOTIFY hub_pool_test")
    wait_readable(conn)
    check_connection(conn)
    assert round_trips == [conn]
    check_connection(conn)  # what was waiting has been read
    assert round_trips == [conn]


def test_a_closed_connection_fails(conn, round_trips):
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        check_connection(conn)


@pytest.mark.django_db(transaction=True)
def test_the_pool_checks_borrowed_connections_with_it(round_trips):
    assert connection.pool is not None
    for _ in range(3):
        connection.close()  # back to the pool
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert round_trips == []
    assert connection.pool._check is check_connection
