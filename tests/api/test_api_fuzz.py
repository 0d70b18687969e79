"""Fuzz the API from its own OpenAPI schema: no input may produce a server error."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.reportdata import build_report_world


@pytest.fixture
def api_schema(db):
    """The schema, loaded from the WSGI app; requests run in the test's transaction.

    Like Django's test client, keep the request signals from closing the test's
    database connection between calls.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(workspace):
    return build_report_world(workspace)


def test_the_api_never_answers_5xx(api_schema, api_key, fuzz_world):
    headers = {"Authorization": f"Bearer {api_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    seen = set()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        def never_5xx(case):
            response = case.call(headers=headers)
            seen.add(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
            )

        never_5xx()
    # The key worked (2xx) and bad input was refused (4xx): the fuzz reached the views.
    assert {200, 400} <= seen, seen


def test_the_schema_and_docs_are_served(client):
    r = client.get("/api/v1/schema/")
    assert r.status_code == 200
    assert b"/api/v1/reports/by-member/" in r.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()
