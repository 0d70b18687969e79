"""The demo's report rollups (see seed_demo): built once every app has seeded, so the
dashboard has figures at once."""

from reports.rollups import rebuild_rollups


def finish(ctx: dict) -> None:
    rebuild_rollups(workspace=ctx["workspace"])
