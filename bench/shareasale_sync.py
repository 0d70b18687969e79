"""ShareASale sync benchmark: a full activity sync of 20,000 and 100,000 rows from the stand-in.

make bench ARGS="shareasale_sync"
BENCH_SHAREASALE_SIZES=5000 make bench ARGS="shareasale_sync"
"""

import json
import os
import sys

from bench import network_sync

TITLE = "ShareASale sync: full activity sync from a stand-in serving 20,000 and 100,000 rows"
PORT = int(os.environ.get("BENCH_SHAREASALE_PORT", "8106"))


def run(argv) -> dict:
    return network_sync.run_section(
        network="shareasale",
        module="bench.shareasale_sync",
        standin="tests.tools.shareasale_standin",
        port=PORT,
        sizes_env="BENCH_SHAREASALE_SIZES",
        db_name="bench_shareasale_sync",
        env_extra=lambda port: {"SHAREASALE_API_BASE_URL": f"http://127.0.0.1:{port}"},
    )


def make_connection(workspace):
    from networks.crypto import encrypt_credentials
    from offers.models import NetworkConnection
    from tests.tools.shareasale_standin import AFFILIATE_ID, SECRET, TOKEN

    return NetworkConnection.objects.create(
        workspace=workspace,
        kind="shareasale",
        label="ShareASale bench",
        account_sid=AFFILIATE_ID,
        credentials_encrypted=encrypt_credentials({"api_token": TOKEN, "api_secret": SECRET}),
        settlement_day=20,
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        network_sync.child(int(sys.argv[2]), kind="actions", make_connection=make_connection)
    else:
        print(json.dumps(run(sys.argv[1:]), indent=2))
