"""Create (or refresh) the demo brand. Safe to run any number of times.

Each app adds its part in ``<app>/demo.py`` with a ``seed(ctx)`` function,
called in INSTALLED_APPS order; ``ctx`` carries what earlier apps created
and ``ctx["out"]`` becomes the ``--json`` output. An optional ``finish(ctx)``
runs after every app has seeded (reports builds its rollups over it all there,
and has no ``seed`` of its own).
"""

import importlib
import json

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Create the demo workspace, users and history (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print what was created as JSON.")

    def handle(self, *args, **options):
        ctx = {"out": {}}
        modules = []
        for app_config in apps.get_app_configs():
            try:
                modules.append(importlib.import_module(f"{app_config.name}.demo"))
            except ModuleNotFoundError as e:
                if e.name != f"{app_config.name}.demo":
                    raise
        with transaction.atomic():
            for module in modules:
                if hasattr(module, "seed"):
                    module.seed(ctx)
            for module in modules:
                if hasattr(module, "finish"):
                    module.finish(ctx)
        if options["json"]:
            self.stdout.write(json.dumps(ctx["out"], indent=2, default=str))
        else:
            out = ctx["out"]
            self.stdout.write(f"Demo workspace '{out['workspace']['slug']}' is ready.")
            for user in out["users"]:
                self.stdout.write(f"  {user['role']:<8} {user['email']}  password: {user['password']}")
            if "portal" in out:
                portal = out["portal"]
                self.stdout.write(
                    f"  Member portal: {portal['member']} ({portal['email']}) signs in at {portal['sign_in_url']}"
                    " (works once, for 7 days; a new link each run)"
                )
