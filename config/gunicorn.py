"""Gunicorn settings for production and `make bench` (tuned for a 2-core machine)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", 4))
keepalive = 5
timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
