"""Impact payloads for the sync tests, shaped like the samples in tests/fixtures/impact/."""

import copy
import json
from pathlib import Path

from tests.networks.conftest import SID

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "impact"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def actions_page(actions=None, *, page=1, numpages=1, next_uri="") -> dict:
    """The sample Actions page (or these actions in its envelope)."""
    data = load("impact_actions_page1.json")
    if actions is not None:
        data["Actions"] = actions
    data.update(
        {"@page": str(page), "@numpages": str(numpages), "@total": str(len(data["Actions"])), "@nextpageuri": next_uri}
    )
    return data


def sample_action(index=0, **changes) -> dict:
    action = copy.deepcopy(load("impact_actions_page1.json")["Actions"][index])
    action.update(changes)
    return action


def updates_page(updates=None) -> dict:
    data = load("impact_action_updates.json")
    if updates is not None:
        data["ActionUpdates"] = updates
        data["@total"] = str(len(updates))
    return data


def empty(key: str) -> dict:
    return {"@page": "1", "@numpages": "1", "@total": "0", "@nextpageuri": "", key: []}


def url(resource: str) -> str:
    return f"https://impact.test/Mediapartners/{SID}/{resource}"


def serve_once(data: dict, key: str = "Actions"):
    """A respx side effect: ``data`` for the first listing request, empty pages after it
    (later windows, and the LockingDate pass)."""
    import httpx

    calls = []

    def respond(request):
        calls.append(request)
        return httpx.Response(200, json=data if len(calls) == 1 else empty(key))

    return respond
