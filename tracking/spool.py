"""The local spool: what a public endpoint could not store, kept on disk until the database takes it.

When PostgreSQL refuses or drops a connection, a postback still answers (503 with
Retry-After), a pixel still answers its GIF, and a click whose Redis buffer and
database are both down still redirects. Each leaves its request here, one small JSON
file per item:

- ``put`` writes the file under ``tmp/``, fsyncs it, then renames it into ``ready/``.
  A rename within one file system is atomic, so a reader never sees half an item, and
  an item that was answered survives a crash of the process or the machine.
- ``claim`` renames ready items into ``claimed/``; of several processes claiming the same
  file exactly one rename succeeds, so each item has one owner. An item claimed by a
  process that died (its file is older than CLAIM_TIMEOUT_SECONDS) goes back to ready.
- the owner then stores it (tracking/services/spooled.py) and calls ``done`` (delete),
  ``release`` (back to ready: the database is still away) or ``fail`` (moved to
  ``failed/`` with the reason: the pipeline refuses it for good; operators look there).

Items hold what the request carried, the postback secret and any Authorization header
included (the replay authenticates like the original request), so the files are
created readable by their owner only. SPOOL_DIR must be on the machine's own disk and
shared by the processes that answer requests and the one that replays them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError

log = logging.getLogger(__name__)

# What "the database is away" looks like from Django: refused or dropped connections,
# a server shutting down, a pool that had no connection to give in time.
DATABASE_DOWN = (OperationalError, InterfaceError)
# A claimed item whose file is this old belonged to a process that died mid-replay.
CLAIM_TIMEOUT_SECONDS = 300
STATES = ("ready", "claimed", "failed")


def spool_dir() -> Path:
    return Path(settings.SPOOL_DIR)


def _folder(state: str) -> Path:
    folder = spool_dir() / state
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def put(item: dict) -> str:
    """Keep ``item`` (JSON-serialisable) until it is replayed; returns its name. Raises OSError if the disk refuses."""
    # Names sort in arrival order, so replays keep it (nanoseconds, then process, then chance).
    name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.json"
    temporary = _folder("tmp") / name
    data = json.dumps(item, separators=(",", ":")).encode()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(temporary, _folder("ready") / name)
    return name


def claim(limit: int = 500) -> list[Path]:
    """Take up to ``limit`` ready items, oldest first; each path returned is this caller's alone."""
    _recover_stale_claims()
    ready, claimed = _folder("ready"), _folder("claimed")
    taken: list[Path] = []
    for name in sorted(os.listdir(ready))[: limit * 2]:
        target = claimed / name
        try:
            os.rename(ready / name, target)
        except FileNotFoundError:
            continue  # another process claimed it first
        # The claim's age starts now, not when the item was spooled.
        os.utime(target)
        taken.append(target)
        if len(taken) >= limit:
            break
    return taken


def read(path: Path) -> dict:
    return json.loads(path.read_bytes())


def done(path: Path) -> None:
    path.unlink(missing_ok=True)


def release(path: Path) -> None:
    """Put a claimed item back for a later replay."""
    try:
        os.rename(path, _folder("ready") / path.name)
    except FileNotFoundError:
        pass


def fail(path: Path, reason: str) -> None:
    """Set a claimed item aside for good, with ``reason`` beside it (``<name>.reason``)."""
    failed = _folder("failed")
    (failed / f"{path.name}.reason").write_text(reason[:2000])
    os.rename(path, failed / path.name)
    log.error("spooled item %s set aside: %s", path.name, reason[:200])


def counts() -> dict[str, int]:
    """How many items are ready, claimed and failed."""
    return {state: sum(1 for name in os.listdir(_folder(state)) if name.endswith(".json")) for state in STATES}


def _recover_stale_claims() -> None:
    claimed = _folder("claimed")
    too_old = time.time() - CLAIM_TIMEOUT_SECONDS
    for name in os.listdir(claimed):
        path = claimed / name
        try:
            if path.stat().st_mtime < too_old:
                log.warning("spooled item %s was claimed by a process that stopped; releasing it", name)
                release(path)
        except FileNotFoundError:
            continue
