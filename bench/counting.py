"""The project's WSGI application plus a per-process count of the 302s it answered on /c/.

`make bench` compares this count with the clicks stored after the drain. It wraps the
application, not the server, so it counts the same way under granian and gunicorn. The
count is kept in memory and written to BENCH_COUNT_DIR/<pid>.json twice a second.
"""

import json
import os
import threading
from collections import Counter
from pathlib import Path

from config.wsgi import application as project
from workspaces.public_paths import CLICK_PREFIX

_counts: Counter = Counter()
_lock = threading.Lock()
_dumper: threading.Thread | None = None


def _dump_forever() -> None:
    while True:
        target = Path(os.environ["BENCH_COUNT_DIR"]) / f"{os.getpid()}.json"
        with _lock:
            data = dict(_counts)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(target)
        threading.Event().wait(0.5)


def _start_dumper() -> None:
    # Started on the first request, in the worker process that serves it (a server may
    # import the application before it forks its workers).
    global _dumper
    with _lock:
        if _dumper is None or _dumper.ident is None or not _dumper.is_alive():
            _dumper = threading.Thread(target=_dump_forever, daemon=True)
            _dumper.start()


def application(environ, start_response):
    if _dumper is None or not _dumper.is_alive():
        _start_dumper()
    is_click = environ.get("PATH_INFO", "").startswith(CLICK_PREFIX)

    def counting_start_response(status, headers, exc_info=None):
        if status.startswith("302"):
            with _lock:
                _counts["click" if is_click else "other"] += 1
        return start_response(status, headers, exc_info)

    return project(environ, counting_start_response)
