"""The spool's files: written whole, claimed by one process each, recovered from a claimer that died."""

import os
import threading
import time

from tracking import spool


def test_an_item_is_ready_only_once_written_whole_and_private():
    spool.put({"kind": "click", "payload": "{}"})
    [ready] = (spool.spool_dir() / "ready").iterdir()
    assert spool.read(ready) == {"kind": "click", "payload": "{}"}
    assert oct(ready.stat().st_mode & 0o777) == "0o600"
    assert list((spool.spool_dir() / "tmp").iterdir()) == []


def test_items_are_claimed_oldest_first_and_each_by_one_claimer():
    for n in range(200):
        spool.put({"n": n})
    claimed: list[list] = [[], []]

    def claimer(k):
        while taken := spool.claim(limit=7):
            claimed[k] += [spool.read(path)["n"] for path in taken]

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed[0] + claimed[1]) == list(range(200))
    assert not set(claimed[0]) & set(claimed[1])
    assert spool.counts() == {"ready": 0, "claimed": 200, "failed": 0}


def test_a_claim_left_by_a_process_that_died_goes_back_to_ready():
    spool.put({"n": 1})
    [path] = spool.claim()
    assert spool.claim() == []
    stale = time.time() - spool.CLAIM_TIMEOUT_SECONDS - 1
    os.utime(path, (stale, stale))
    [again] = spool.claim()
    assert spool.read(again) == {"n": 1}


def test_done_release_and_fail():
    for n in range(3):
        spool.put({"n": n})
    first, second, third = spool.claim()
    spool.done(first)
    spool.release(second)
    spool.fail(third, "refused: bad data")
    assert spool.counts() == {"ready": 1, "claimed": 0, "failed": 1}
    assert (spool.spool_dir() / "failed" / f"{third.name}.reason").read_text() == "refused: bad data"
