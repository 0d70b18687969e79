"""`make test`: run the whole suite and say which services it used.

With DATABASE_URL (PostgreSQL) and REDIS_URL set, every test runs. Without them
the suite runs on SQLite and the tests that need the real services are skipped;
pytest's summary (-ra) lists each skipped test with its reason.
"""

import os
import shutil
import sys

import pytest


def main() -> int:
    db = os.environ.get("DATABASE_URL", "")
    redis = os.environ.get("REDIS_URL", "")
    print("make test: database =", db or "SQLite (DATABASE_URL unset: PostgreSQL-only tests will be skipped)")
    print("make test: redis    =", redis or "none (REDIS_URL unset: Redis and Celery-worker tests will be skipped)")
    if not shutil.which("chromium") and not os.path.exists("/usr/bin/chromium"):
        print("make test: chromium not found: browser tests will be skipped (apt-get install -y chromium)")
    # Live-server threads must not keep connections open past a test (the test
    # database is dropped at the end).
    os.environ.setdefault("CONN_MAX_AGE", "0")
    args = sys.argv[1:] or []
    code = pytest.main(["-p", "no:cacheprovider", *args])
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("make test: no tests were collected")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
