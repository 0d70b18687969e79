"""`make bench ARGS=postbacks`: postbacks and pixels against the fastest bare Django 302.

1. A throwaway PostgreSQL database is created and migrated; an Impact connection, an
   offer, a member, a click for every attributed request and 20,000 earlier
   conversions with their log rows are seeded, then ANALYZEd (as autovacuum would have).
2. The project is started under the production server (`python -m config.serve`;
   --server=granian|gunicorn, default WEB_SERVER or granian), with the bare references
   of bench/servers.py beside it.
3. wrk (2 threads, 64 connections) drives, in turn and PASSES times over: each bare
   302; GET /postback/impact/<secret> with a unique transaction id and ActionId per
   request whose click exists (attributed: ids shaped as the redirect mints them) and
   whose click is unknown (unattributed: ids of another shape, as for a sale that came
   through no link of the hub);
   the same postback over and over (duplicates); and the pixel with unique attributed
   hits. A Lua script numbers the requests.
4. Conversions stored are compared with the 200 answers wrk received: every accepted
   hit is stored (it is committed before it is answered), none twice, and the
   duplicate phase stores nothing.

Options (in ARGS): --seconds=N, --connections=N, --passes=N, --port=N, --server=NAME,
--keep (keep the database).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

from bench import common, servers
from workspaces.public_paths import pixel_path, postback_path

TITLE = "Postbacks and pixels: /postback/impact/<secret> and /pixel/<secret>.gif vs the fastest bare Django 302"
DATABASE = "bench_postbacks"
TARGET_RATIO = 0.25
TARGET_DUPLICATE_RATIO = 0.35
TARGET_P99_MS = 150.0
CLICKS_PER_THREAD = 30000
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
Click.objects.create(workspace=ws, transaction_id="dup-target", link=link, offer=offer, member=member)
# The attributed phases' clicks, with ids as the redirect mints them (32 hex digits, the first four
# naming this month): <month><tag's letter, 2 digits><tag's pass, 2><thread, 2><counter, 22>, as the Lua
# script numbers its requests.
from django.db import connection
from django.utils import timezone
from tracking.clicks.payload import mint_transaction_id
month = mint_transaction_id(timezone.now())[:4]
with connection.cursor() as cursor:
    for tag in %(tags)r:
        cursor.execute(
            "INSERT INTO tracking_click (transaction_id, created_at, ip_hash, user_agent, referrer, sub1, sub2, sub3,"
            " sub4, sub5, is_unique, is_bot, offer_state, destination, link_id, member_id, offer_id, workspace_id)"
            " SELECT %%s || lpad(to_hex(ascii(%%s)), 2, '0') || lpad(to_hex(%%s), 2, '0') || lpad(to_hex(t), 2, '0')"
            " || lpad(to_hex(n), 22, '0'), now(), '', '', '', '', '', '', '', '', true, false, 'active',"
            " '', %%s, %%s, %%s, %%s FROM generate_series(1, %(threads)d) t, generate_series(1, %(per_thread)d) n",
            [month, tag[0], int(tag[1:]), link.pk, member.pk, offer.pk, ws.pk],
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
print(json.dumps({"secret": conn.postback_secret, "clicks": Click.objects.count(), "month": month}))
"""

COUNT = """
import json
from tracking.models import Conversion, PostbackLog
accepted = PostbackLog.objects.filter(outcome__in=["accepted", "unattributed"]).count()
print(json.dumps({"conversions": Conversion.objects.count(), "accepted": accepted}))
"""

# Each wrk thread numbers its requests; "tag" keeps every phase's ids apart (attributed
# phases use tags whose clicks were seeded, unattributed ones tags that were not). Mode
# "unique": ids as the hub mints them (the seed's shape); "foreign": ids of another shape,
# as a network reports for sales that came through no link of the hub; "dup": one id.
LUA = r"""
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  prefix, mode, tag, month = args[1], args[2], args[3], args[4]
  tag_hex = string.format("%02x%02x", tag:byte(1), tonumber(tag:sub(2)) or 0)
  ok, other = 0, 0
end

function request()
  counter = counter + 1
  local tid, action
  if mode == "unique" or mode == "foreign" then
    if mode == "unique" then
      tid = month .. tag_hex .. string.format("%02x%022x", id, counter)
    else
      tid = "b" .. tag .. "t" .. id .. "n" .. counter
    end
    action = "1000." .. tag .. "." .. id .. "." .. counter
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


def _option(argv: list[str], name: str, default):
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return type(default)(arg.split("=", 1)[1])
    return default


def _wrk_hits(base: str, path: str, mode: str, tag: str, *, seconds: int, connections: int, month: str = "") -> dict:
    script = Path(tempfile.gettempdir()) / "bench-postbacks.lua"
    script.write_text(LUA)
    args = [common.WRK, f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    args += ["-s", str(script), base, "--", path + "?", mode, tag, month]
    with common.cpu_meter() as cpu:
        result = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise common.BenchError(f"wrk failed: {result.stderr}")
    parsed = common.parse_wrk(result.stdout)
    parsed["cpu_us"] = cpu.per_request(parsed["requests"])
    match = re.search(r"BENCH ok=(\d+) other=(\d+)", result.stdout)
    if not match:
        raise common.BenchError("the wrk script printed no counts:\n" + result.stdout)
    parsed["ok"], parsed["other"] = int(match.group(1)), int(match.group(2))
    return parsed


def run(argv: list[str]) -> dict:
    seconds = _option(argv, "seconds", 15)
    connections = _option(argv, "connections", 64)
    passes = _option(argv, "passes", 3)
    port = _option(argv, "port", 8104)
    server = _option(argv, "server", os.environ.get("WEB_SERVER", "granian"))
    tags = [f"{kind}{n}" for kind in ("m", "p", "w") for n in range(passes)]
    env = common.production_env(common.create_database(DATABASE))
    # Per phase: conversions stored and hits the server accepted (its log is written in the
    # conversion's transaction, so it is exact even for requests in flight when wrk stopped).
    stored: dict[str, int] = {}
    accepted: dict[str, int] = {}
    try:
        common.manage(env, "migrate", "--noinput")
        seed = common.django_call(
            env,
            SEED
            % {"threads": WRK_THREADS, "per_thread": CLICKS_PER_THREAD, "earlier": EARLIER_CONVERSIONS, "tags": tags},
        )
        secret, month = seed["secret"], seed["month"]
        common.analyze(env)
        procs = [servers.start_bare(kind, env, port + offset) for offset, kind in enumerate(servers.KINDS)]
        with common.running(*procs):
            project = servers.start(server, env, port + len(servers.KINDS))
            with common.running(project):
                base = f"http://127.0.0.1:{port + len(servers.KINDS)}"
                postback, pixel = postback_path("impact", secret), pixel_path(secret)

                def phase(name: str, path: str, mode: str, tag):
                    def measure(number: int) -> dict:
                        before = common.django_call(env, COUNT)
                        result = _wrk_hits(
                            base, path, mode, tag(number), seconds=seconds, connections=connections, month=month
                        )
                        after = common.django_call(env, COUNT)
                        stored[name] = stored.get(name, 0) + after["conversions"] - before["conversions"]
                        accepted[name] = accepted.get(name, 0) + after["accepted"] - before["accepted"]
                        return result

                    return measure

                bare = {
                    f"bare 302, {kind}": (
                        lambda _n, url=f"http://127.0.0.1:{port + offset}/bench/302": common.run_wrk(
                            url, seconds=seconds, connections=connections
                        )
                    )
                    for offset, kind in enumerate(servers.KINDS)
                }
                for target in bare.values():
                    target(0)  # warm-up
                _wrk_hits(base, postback, "unique", "w0", seconds=3, connections=connections, month=month)
                _wrk_hits(base, pixel, "unique", "w1", seconds=3, connections=connections, month=month)
                # The duplicate phases' conversion exists before they start, so they must store nothing.
                _wrk_hits(base, postback, "dup", "d", seconds=1, connections=WRK_THREADS)
                targets = {
                    **bare,
                    f"postback attributed, {server}": phase("attributed", postback, "unique", lambda n: f"m{n}"),
                    f"postback unattributed, {server}": phase("unattributed", postback, "foreign", lambda n: f"u{n}"),
                    f"postback duplicate, {server}": phase("duplicate", postback, "dup", lambda n: "d"),
                    f"pixel attributed, {server}": phase("pixel", pixel, "unique", lambda n: f"p{n}"),
                }
                measured = servers.interleaved(targets, passes)
    finally:
        if "--keep" not in argv:
            common.drop_database(DATABASE)

    ratios = servers.print_table(measured)
    names = {
        key: f"{label}, {server}"
        for key, label in (
            ("attributed", "postback attributed"),
            ("unattributed", "postback unattributed"),
            ("duplicate", "postback duplicate"),
            ("pixel", "pixel attributed"),
        )
    }
    unique_keys = ("attributed", "unattributed", "pixel")
    lost = {key: max(measured[names[key]]["ok"] - stored[key], 0) for key in unique_keys}
    doubled = stored["duplicate"]
    non_200 = {key: measured[names[key]]["other"] + measured[names[key]]["errors"] for key in names}
    pixel_vs_postback = measured[names["pixel"]]["rps"] / measured[names["attributed"]]["rps"]
    result = {
        "server": server,
        "measured": measured,
        "ratios": {name: round(r, 3) for name, r in ratios.items()},
        "stored": stored,
        "accepted": accepted,
        "lost": lost,
        "doubled": doubled,
        "non_200": non_200,
        "pixel_vs_postback": round(pixel_vs_postback, 3),
        "seconds": seconds,
        "connections": connections,
        "passes": passes,
    }
    result["targets_met"] = bool(
        all(ratios[names[key]] >= TARGET_RATIO for key in ("attributed", "unattributed"))
        and ratios[names["duplicate"]] >= TARGET_DUPLICATE_RATIO
        and all(measured[names[key]]["p99_ms"] < TARGET_P99_MS for key in names)
        and all(stored[key] == accepted[key] for key in unique_keys)
        and not any(lost.values())
        and doubled == 0
        and not any(non_200.values())
        and pixel_vs_postback >= 0.9
    )
    for key in unique_keys:
        print(
            f"{names[key]}: {measured[names[key]]['ok']} answered 200 before wrk stopped, {accepted[key]} accepted "
            f"by the server, {stored[key]} stored ({lost[key]} lost)"
        )
    print(f"duplicates: {measured[names['duplicate']]['ok']} answered 200, {doubled} stored")
    result["cpu_budget"] = {}
    for key in names:
        ratio = TARGET_DUPLICATE_RATIO if key == "duplicate" else TARGET_RATIO
        result["cpu_budget"][key] = servers.cpu_budget(measured, names[key], ratio)
        servers.print_budget(names[key], result["cpu_budget"][key])
    print(f"pixels run at {pixel_vs_postback:.0%} of attributed postbacks (target: within 10 %)")
    print(
        f"targets: unique >= x{TARGET_RATIO:.2f}, duplicates >= x{TARGET_DUPLICATE_RATIO:.2f} of the fastest bare 302, "
        f"p99 < {TARGET_P99_MS:.0f} ms, 0 lost, 0 doubled:",
        "met" if result["targets_met"] else "NOT met",
    )
    return result
