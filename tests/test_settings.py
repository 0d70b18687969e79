"""Settings that decide where the embedded set-up writes: nothing outside var/."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_the_folder_broker_keeps_every_folder_under_var():
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    code = "import django, json; django.setup(); from django.conf import settings as s; " + (
        "print(json.dumps([s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    url, options = json.loads(out.stdout.strip().splitlines()[-1])
    assert url == "filesystem://"
    folders = [value for name, value in options.items() if name.endswith("_folder") or name.startswith("data_folder")]
    assert {"data_folder_in", "data_folder_out", "processed_folder", "control_folder"} <= set(options)
    for folder in folders:
        assert folder.startswith(str(ROOT / "var" / "broker")), folder
