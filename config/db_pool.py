"""The health check psycopg's pool runs on a connection a request or task borrows (config/settings.py).

psycopg_pool's own check (ConnectionPool.check_connection) sends an empty query every
time: a round trip to PostgreSQL on every request, about 65 us of the web process's CPU
and 150 us of waiting, more than a click redirect's whole share of a postback's budget.
A connection the server has ended (a restart, a crash, a terminated backend) always has
something to read: PostgreSQL's last message, or the end of the stream the kernel
reports when the server process is gone. An idle connection that is healthy has
nothing. So the round trip is made only when the socket has something to read (or the
connection is known to be broken); the pool then discards a connection that fails it
and hands out another, as before.
"""

from __future__ import annotations

import select


def check_connection(conn) -> None:
    """Return quietly if ``conn`` is usable, else raise (psycopg_pool's ``check`` contract)."""
    from psycopg import Error, pq
    from psycopg_pool import ConnectionPool

    pgconn = conn.pgconn
    if pgconn.status == pq.ConnStatus.OK and pgconn.transaction_status == pq.TransactionStatus.IDLE:
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
            if not poller.poll(0):
                return
        except (OSError, ValueError, Error):
            pass  # no usable socket: the round trip below says what is wrong
    ConnectionPool.check_connection(conn)
