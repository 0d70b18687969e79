"""Awin sync benchmark: a full transactions sync of 20,000 and 100,000 transactions from the stand-in.

make bench ARGS="awin_sync"
BENCH_AWIN_SIZES=5000 make bench ARGS="awin_sync"
"""

import json
import os
import sys

from bench import network_sync

TITLE = "Awin sync: full transactions sync from a stand-in serving 20,000 and 100,000 transactions"
PORT = int(os.environ.get("BENCH_AWIN_PORT", "8107"))


def run(argv) -> dict:
    return network_sync.run_section(
        network="awin",
        module="bench.awin_sync",
        standin="tests.tools.awin_standin",
        port=PORT,
        sizes_env="BENCH_AWIN_SIZES",
        db_name="bench_awin_sync",
        env_extra=lambda port: {"AWIN_API_BASE_URL": f"http://127.0.0.1:{port}"},
    )


def make_connection(workspace):
    from networks.crypto import encrypt_credentials
    from offers.models import NetworkConnection
    from tests.tools.awin_standin import PUBLISHER_ID, TOKEN

    return NetworkConnection.objects.create(
        workspace=workspace,
        kind="awin",
        label="Awin bench",
        account_sid=PUBLISHER_ID,
        currency="GBP",
        credentials_encrypted=encrypt_credentials({"api_token": TOKEN}),
        settlement_day=15,
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        network_sync.child(int(sys.argv[2]), kind="actions", make_connection=make_connection)
    else:
        print(json.dumps(run(sys.argv[1:]), indent=2))
