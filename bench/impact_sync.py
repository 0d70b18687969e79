"""Impact sync benchmark: a full Actions sync from the local stand-in server.

The stand-in (tests/tools/impact_standin.py) runs in its own process and serves N
generated actions over 60 days, with Impact's rules (45-day windows, PageSize >= 2000,
at most 10 pages per listing). Each size is synced in a fresh child process so its
peak memory (ru_maxrss) is its own: the sync streams pages, so the peak should not
grow with N. Target: 100,000 actions in under 60 s.

    make bench ARGS="impact_sync"                 # 20,000 and 100,000 actions
    BENCH_IMPACT_SIZES=5000 make bench ARGS="impact_sync"
"""

import json
import os
import sys

from bench import network_sync

TITLE = "Impact sync: full Actions sync from a stand-in serving 20,000 and 100,000 actions"
PORT = int(os.environ.get("BENCH_IMPACT_PORT", "8105"))


def run(argv) -> dict:
    return network_sync.run_section(
        network="impact",
        module="bench.impact_sync",
        standin="tests.tools.impact_standin",
        port=PORT,
        sizes_env="BENCH_IMPACT_SIZES",
        db_name="bench_impact_sync",
        env_extra=lambda port: {"IMPACT_API_BASE_URL": f"http://127.0.0.1:{port}"},
        unit="actions",
    )


def make_connection(workspace):
    from networks.crypto import encrypt_credentials
    from offers.models import NetworkConnection
    from tests.tools.impact_standin import SID, TOKEN

    return NetworkConnection.objects.create(
        workspace=workspace,
        kind="impact",
        label="Impact bench",
        account_sid=SID,
        credentials_encrypted=encrypt_credentials({"auth_token": TOKEN}),
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        network_sync.child(int(sys.argv[2]), kind="actions", make_connection=make_connection, unit="actions")
    else:
        print(json.dumps(run(sys.argv[1:]), indent=2))
