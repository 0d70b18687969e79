"""config/gunicorn.py plus a per-worker count of the 302s the server answered.

`make bench` compares this count with the clicks stored after the drain. The count
is kept in memory and written to BENCH_COUNT_DIR/<pid>.json twice a second.
"""

import json
import os
import threading
from collections import Counter
from pathlib import Path

from config.gunicorn import *  # noqa: F403
from workspaces.public_paths import CLICK_PREFIX

_counts = Counter()
_lock = threading.Lock()


def post_request(worker, req, environ, resp):
    # Runs after the response, also when the client had already gone away.
    if resp.status_code == 302:
        kind = "click" if environ.get("PATH_INFO", "").startswith(CLICK_PREFIX) else "other"
        with _lock:
            _counts[kind] += 1


def post_worker_init(worker):
    target = Path(os.environ["BENCH_COUNT_DIR"]) / f"{os.getpid()}.json"

    def dump():
        while True:
            with _lock:
                data = dict(_counts)
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            tmp.replace(target)
            threading.Event().wait(0.5)

    threading.Thread(target=dump, daemon=True).start()
