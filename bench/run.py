"""`make bench`: run every benchmark section and print its figures.

Each section is a module in bench/ with ``run(args) -> dict`` and a ``TITLE``;
SECTIONS lists them in order. ``make bench ARGS="clicks"`` runs one section.
"""

import importlib
import json
import sys
import time

SECTIONS = ["clicks", "postbacks", "impact_sync", "shareasale_sync", "awin_sync", "reports", "partitions"]


def main(argv: list[str]) -> int:
    chosen = [s for s in SECTIONS if not argv or s in argv]
    if not chosen:
        print("no benchmark sections match", argv, "- known:", SECTIONS)
        return 2
    results = {}
    for name in chosen:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== {module.TITLE} ===", flush=True)
        started = time.monotonic()
        results[name] = module.run(argv)
        print(f"({name} took {time.monotonic() - started:.0f} s)", flush=True)
    print("\n=== summary ===")
    print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
