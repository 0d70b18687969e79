"""`make bench ARGS=postbacks`: the postback endpoint against a bare 302 under the same server.

1. A throwaway PostgreSQL database is created and migrated; an Impact connection, an
   offer, a member, enough clicks for every request and 20,000 earlier conversions
   with their log rows are seeded, then ANALYZEd (as autovacuum would have).
2. gunicorn (config/gunicorn.py, DEBUG=false) is started.
3. wrk drives GET /bench/302, then GET /postback/impact/<secret> with a unique
   transaction id and ActionId per request (a Lua script), then the same postback
   over and over (all duplicates), each for 15 s with 64 connections.
4. Conversions stored are compared with the 200 answers wrk received: every accepted
   postback is stored (it is committed before it is answered), none twice, and the
   duplicate phase stores nothing.

Options (in ARGS): --seconds=N, --connections=N, --port=N, --keep (keep the database).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from bench import common
from workspaces.public_paths import postback_path

TITLE = "Postbacks: /postback/impact/<secret> (unique, then duplicates) vs a bare 302"
DATABASE = "bench_postbacks"
TARGET_RATIO = 0.20
TARGET_P99_MS = 200.0
CLICKS_PER_THREAD = 40000
EARLIER_CONVERSIONS = 20000
WRK_THREADS = 2

SEED = """
import json
from offers.models import Link, Member, NetworkConnection, Offer
from decimal import Decimal
from tracking.models import Click, Conversion, PostbackLog
from workspaces.models import Workspace
ws, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
conn = NetworkConnection.objects.create(workspace=ws, kind="impact", label="Impact")
offer = Offer.objects.create(
    workspace=ws, name="Bench offer", connection=conn, payout_type="percent", payout_percent=10,
    offer_url="https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}",
)
member = Member.objects.create(workspace=ws, name="Bench member")
link = Link.objects.create(workspace=ws, offer=offer, member=member)
tids = ["dup-target"] + [f"bm{t}n{i}" for t in range(1, %(threads)d + 1) for i in range(1, %(per_thread)d + 1)]
Click.objects.bulk_create(
    [Click(workspace=ws, transaction_id=t, link=link, offer=offer, member=member) for t in tids], batch_size=5000
)
# A hub that has been running holds earlier conversions and their log rows; the planner's
# statistics (analyzed after seeding) then describe tables of that size, not empty ones.
earlier = Click.objects.bulk_create(
    [Click(workspace=ws, transaction_id=f"old{i}", link=link, offer=offer, member=member) for i in range(%(earlier)d)],
    batch_size=5000,
)
conversions = Conversion.objects.bulk_create(
    [
        Conversion(
            workspace=ws, connection=conn, network="impact", dedupe_key=f"900.{c.pk}", transaction_id=c.transaction_id,
            external_id=f"900.{c.pk}", click=c, offer=offer, member=member, source="postback", currency="USD",
            sale_amount=Decimal("21.99"), network_payout=Decimal("0.88"), member_payout=Decimal("2.20"),
        )
        for c in earlier
    ],
    batch_size=5000,
)
PostbackLog.objects.bulk_create(
    [
        PostbackLog(
            workspace=ws, connection=conn, network="impact", method="GET", query=f"subid1={v.transaction_id}",
            params={"subid1": v.transaction_id}, outcome="accepted", conversion=v, response_status=200,
        )
        for v in conversions
    ],
    batch_size=5000,
)
print(json.dumps({"secret": conn.postback_secret, "clicks": len(tids)}))
"""

COUNT = """
import json
from tracking.models import Conversion, PostbackLog
accepted = PostbackLog.objects.filter(outcome__in=["accepted", "unattributed"]).count()
print(json.dumps({"conversions": Conversion.objects.count(), "accepted": accepted}))
"""

# Each wrk thread numbers its requests; "tag" keeps the warm-up's ids apart from the measured run's.
LUA = r"""
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  prefix, mode, tag = args[1], args[2], args[3]
  ok, other = 0, 0
end

function request()
  counter = counter + 1
  local tid, action
  if mode == "unique" then
    tid = "b" .. tag .. id .. "n" .. counter
    action = "1000." .. tag .. id .. "." .. counter
  else
    tid, action = "dup-target", "1000.dup.1"
  end
  return wrk.format("GET", prefix .. "subid1=" .. tid .. "&action_id=" .. action ..
    "&amount=21.99&payout=0.88&status=PENDING&currency=USD&event_date=2024-09-10T10%3A42%3A38-07%3A00")
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_other = total_other + t:get("other")
  end
  io.write(string.format("BENCH ok=%d other=%d\n", total_ok, total_other))
end
"""


def _option(argv: list[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _wrk_postbacks(base: str, secret: str, mode: str, tag: str, *, seconds: int, connections: int) -> dict:
    script = Path(tempfile.gettempdir()) / "bench-postbacks.lua"
    script.write_text(LUA)
    args = [common.WRK, f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    args += ["-s", str(script), base, "--", postback_path("impact", secret) + "?", mode, tag]
    result = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise common.BenchError(f"wrk failed: {result.stderr}")
    parsed = common.parse_wrk(result.stdout)
    match = re.search(r"BENCH ok=(\d+) other=(\d+)", result.stdout)
    if not match:
        raise common.BenchError("the wrk script printed no counts:\n" + result.stdout)
    parsed["ok"], parsed["other"] = int(match.group(1)), int(match.group(2))
    return parsed


def run(argv: list[str]) -> dict:
    seconds = _option(argv, "seconds", 15)
    connections = _option(argv, "connections", 64)
    port = _option(argv, "port", 8104)
    env = common.production_env(common.create_database(DATABASE))
    try:
        common.manage(env, "migrate", "--noinput")
        seed = common.django_call(
            env, SEED % {"threads": WRK_THREADS, "per_thread": CLICKS_PER_THREAD, "earlier": EARLIER_CONVERSIONS}
        )
        secret = seed["secret"]
        common.analyze(env)
        server = common.start_gunicorn(env, port)
        with common.running(server):
            base = f"http://127.0.0.1:{port}"
            common.run_wrk(f"{base}/bench/302", seconds=3, connections=connections)
            _wrk_postbacks(base, secret, "unique", "w", seconds=3, connections=connections)
            bare = common.run_wrk(f"{base}/bench/302", seconds=seconds, connections=connections)

            before = common.django_call(env, COUNT)
            unique = _wrk_postbacks(base, secret, "unique", "m", seconds=seconds, connections=connections)
            after_unique = common.django_call(env, COUNT)

            # The duplicate phase's conversion exists before it starts, so it must store nothing.
            _wrk_postbacks(base, secret, "dup", "d", seconds=1, connections=WRK_THREADS)
            before_dup = common.django_call(env, COUNT)
            dup = _wrk_postbacks(base, secret, "dup", "d", seconds=seconds, connections=connections)
            after_dup = common.django_call(env, COUNT)
    finally:
        if "--keep" not in argv:
            common.drop_database(DATABASE)

    stored = after_unique["conversions"] - before["conversions"]
    # wrk stops with requests in flight: the server still answers and stores them, so the
    # server's own log (written in the conversion's transaction) is the exact count.
    logged_accepted = after_unique["accepted"] - before["accepted"]
    doubled = after_dup["conversions"] - before_dup["conversions"]
    ratio = unique["rps"] / bare["rps"] if bare["rps"] else 0.0
    dup_ratio = dup["rps"] / bare["rps"] if bare["rps"] else 0.0
    result = {
        "bare_302_rps": round(bare["rps"]),
        "postback_unique_rps": round(unique["rps"]),
        "postback_duplicate_rps": round(dup["rps"]),
        "ratio_unique": round(ratio, 3),
        "ratio_duplicate": round(dup_ratio, 3),
        "bare_302_p50_ms": bare["p50_ms"],
        "bare_302_p99_ms": bare["p99_ms"],
        "unique_p50_ms": unique["p50_ms"],
        "unique_p99_ms": unique["p99_ms"],
        "duplicate_p50_ms": dup["p50_ms"],
        "duplicate_p99_ms": dup["p99_ms"],
        "unique_accepted_200": unique["ok"],
        "unique_logged_accepted": logged_accepted,
        "unique_conversions_stored": stored,
        "unique_non_200": unique["other"] + unique["errors"],
        "duplicate_200": dup["ok"],
        "duplicate_conversions_stored": doubled,
        "duplicate_non_200": dup["other"] + dup["errors"],
        "lost": max(unique["ok"] - stored, 0),
        "seconds": seconds,
        "connections": connections,
    }
    result["targets_met"] = bool(
        ratio >= TARGET_RATIO
        and unique["p99_ms"] < TARGET_P99_MS
        and dup["p99_ms"] < TARGET_P99_MS
        and stored == logged_accepted
        and stored >= unique["ok"]
        and doubled == 0
        and result["unique_non_200"] == 0
        and result["duplicate_non_200"] == 0
    )
    print(f"bare 302        : {bare['rps']:>8.0f} req/s   p50 {bare['p50_ms']:.2f} ms   p99 {bare['p99_ms']:.2f} ms")
    print(
        f"postback unique : {unique['rps']:>8.0f} req/s   p50 {unique['p50_ms']:.2f} ms   p99 {unique['p99_ms']:.2f} ms"
        f"   ({ratio:.1%} of the bare 302; target >= {TARGET_RATIO:.0%}, p99 < {TARGET_P99_MS:.0f} ms)"
    )
    print(
        f"postback dupes  : {dup['rps']:>8.0f} req/s   p50 {dup['p50_ms']:.2f} ms   p99 {dup['p99_ms']:.2f} ms"
        f"   ({dup_ratio:.1%} of the bare 302)"
    )
    print(
        f"conversions     : {unique['ok']} answered 200 before wrk stopped, {logged_accepted} accepted by the server, "
        f"{stored} stored ({result['lost']} lost); duplicates: {dup['ok']} answered 200, {doubled} stored"
    )
    print("targets         :", "met" if result["targets_met"] else "NOT met")
    return result
