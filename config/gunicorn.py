"""Gunicorn settings for production and `make bench` (tuned for a 2-core machine).

Sync workers, cores + 1 of them, all taking connections from one listening socket:
a request waits in the kernel's queue only until the first worker is free, so no
request queues behind a busy worker while another idles. One worker more than
cores keeps the CPUs busy while a worker waits on PostgreSQL; more than that only
adds processes (and their database backends) taking turns on the same cores, and
measured slower: postbacks at 2 x cores + 1 ran at 17 to 18 % of the bare 302, at
cores + 1 at 21 to 26 % (README, Benchmarks). Threaded workers keep each keep-alive
connection on the worker that accepted it; under load one worker ends up holding
most connections and the slowest requests wait several times longer than the rest.
Each request gets its own connection, so put a buffering proxy (nginx, Caddy, a
cloud load balancer) in front, as for any sync gunicorn: it absorbs slow clients
and keeps connections to browsers alive.

GUNICORN_WORKERS, GUNICORN_WORKER_CLASS and GUNICORN_THREADS override the defaults
(threads > 1 turns sync workers into gunicorn's threaded "gthread" workers).
"""

import multiprocessing
import os
from pathlib import Path

import environ

environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", 1))
keepalive = 5
timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# The README promises postbacks whose query string fills POSTBACK_BODY_LIMIT; the request line
# adds the method, path and protocol. gunicorn cannot set a line limit above 8,190 bytes, so a
# larger need lifts its limit (0) and the app itself answers 413 past POSTBACK_BODY_LIMIT.
_request_line_needed = int(os.environ.get("POSTBACK_BODY_LIMIT", 8192)) + 1024
limit_request_line = _request_line_needed if _request_line_needed < 8190 else 0
# Workers touch a heartbeat file on every request; on tmpfs that never waits for a disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
