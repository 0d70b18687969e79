"""`python -m config.serve`: the production web server, granian by default, gunicorn as an option.

WEB_SERVER picks it:
- ``granian`` (default): granian's WSGI interface, cores + 1 worker processes (one more
  than the cores keeps them busy while a worker waits on PostgreSQL), one blocking thread
  per worker (so one request at a time per process and one PostgreSQL
  connection per process, like a sync gunicorn worker), keep-alive connections handled
  in granian's Rust event loop. On a 2-core machine it answered a bare Django 302 about
  three times as fast as gunicorn's sync workers, most of it from keeping connections
  alive instead of opening one per request (README, Benchmarks).
- ``gunicorn``: sync workers with config/gunicorn.py (cores + 1 of them, one connection
  per request; put a buffering proxy in front).

Settings (environment): WEB_BIND (host:port, default 0.0.0.0:8000; GUNICORN_BIND is read
too), WEB_WORKERS (granian's worker count, default: cores + 1), WEB_ACCESS_LOG (true:
one access-log line per request), APP (the WSGI application, default config.wsgi:application).
Either way the application is the same entry point (config/wsgi.py), so the request
signals, host checks, security headers and the logged 500 do not depend on the server.
"""

import multiprocessing
import os
import sys
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
environ.Env.read_env(ROOT / ".env", overwrite=False)

SERVERS = ("granian", "gunicorn")


def _bind() -> tuple[str, int]:
    bind = os.environ.get("WEB_BIND") or os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000"
    host, _, port = bind.rpartition(":")
    return host or "0.0.0.0", int(port)


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def granian_server(app: str):
    """The granian server object for ``app`` with the settings above (not started)."""
    from granian import Granian
    from granian.constants import Interfaces

    host, port = _bind()
    return Granian(
        app,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=int(os.environ.get("WEB_WORKERS") or multiprocessing.cpu_count() + 1),
        # One request at a time per process: Django's database connection is per thread,
        # so this bounds PostgreSQL connections to one per worker.
        blocking_threads=1,
        backlog=2048,
        log_access=_truthy("WEB_ACCESS_LOG"),
        respawn_failed_workers=True,
        workers_kill_timeout=30,
        working_dir=ROOT,
    )


def gunicorn_argv(app: str) -> list[str]:
    host, port = _bind()
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.py"), "-b", f"{host}:{port}", app]


def main() -> None:
    server = os.environ.get("WEB_SERVER", "granian")
    if server not in SERVERS:
        raise SystemExit(f"WEB_SERVER must be one of {', '.join(SERVERS)}, not {server!r}")
    app = os.environ.get("APP", "config.wsgi:application")
    if server == "gunicorn":
        argv = gunicorn_argv(app)
        os.execv(argv[0], argv)
    granian_server(app).serve()


if __name__ == "__main__":
    main()
