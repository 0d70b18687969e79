"""Replay the local spool (tracking/spool.py) into the database once it is back.

The beat task ``tracking.tasks.replay_spool`` runs this every 10 seconds on a worker that
shares SPOOL_DIR with the web processes; ``manage.py replayspool`` does the same by hand
(for a web host whose worker runs elsewhere). Each item is stored exactly once:

- a click goes in with ``ON CONFLICT DO NOTHING`` on its transaction id, like a drained one;
- a postback or pixel hit runs through the pipeline again (postback_outcome,
  pixel_outcome), which keeps one conversion per sale however often it is told of it:
  the network's own retry of a hit that was answered 503 comes out as a duplicate. Its log
  row keeps the time the hit arrived.

A file is deleted only after its item is committed. If the replayer dies in between, the
item is replayed again after the claim times out: a click is then found stored, a hit is
logged a second time as a duplicate of its own conversion. While the database is still
away, the item goes back to the spool and the run stops.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tracking import spool
from tracking.clicks.buffer import store_payloads
from tracking.ingest import Hit, pixel_outcome, postback_outcome

log = logging.getLogger(__name__)


class NotYet(Exception):
    """The item cannot be stored yet (the database or the click buffer is still away)."""


@dataclass
class ReplayResult:
    stored: int = 0
    left: int = 0
    failed: int = 0


def replay_spool(*, limit: int = 500) -> ReplayResult:
    """Store up to ``limit`` spooled items, oldest first."""
    result = ReplayResult()
    claimed = spool.claim(limit)
    for index, path in enumerate(claimed):
        try:
            replay_item(spool.read(path))
        except (NotYet, *spool.DATABASE_DOWN):
            log.warning("spool replay stopped: the database is not back yet", exc_info=True)
            for rest in claimed[index:]:
                spool.release(rest)
            result.left = len(claimed) - index
            break
        except Exception as exc:  # unreadable or refused for good: set aside, keep going
            spool.fail(path, f"{type(exc).__name__}: {exc}")
            result.failed += 1
        else:
            spool.done(path)
            result.stored += 1
    if result.stored or result.failed:
        log.info("spool replay: %s stored, %s set aside, %s left", result.stored, result.failed, result.left)
    return result


def replay_item(item: dict) -> None:
    """Store one spooled item; raises NotYet or spool.DATABASE_DOWN to be tried again later."""
    kind = item["kind"]
    if kind == "click":
        _, refused = store_payloads([item["payload"].encode()])
        if refused:
            raise ValueError(f"the database refuses the click: {refused[0][1]}")
        return
    hit = Hit.from_json(item["hit"])
    if kind == "postback":
        status, _ = postback_outcome(hit, item["network"], item["secret"])
    elif kind == "pixel":
        status = pixel_outcome(hit, item["secret"])
    else:
        raise ValueError(f"unknown spooled item kind {kind!r}")
    if status == 503:
        # Logged as 503 by the pipeline (the click buffer is away): keep the item for later.
        raise NotYet(f"the pipeline answered 503 for a spooled {kind}")
