"""Whatever a caller sends, the postback endpoint answers with a 2xx or a 4xx and logs the hit."""

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tracking.postback_world import make_world
from tracking.models import PostbackLog

NAMES = ["subid1", "transaction_id", "afftrack", "action_id", "amount", "payout", "status", "currency", "event_date"]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["12.50", "-1", "NaN", "1e9", "$1,234.50", "12,50", "APPROVED", "{SubId1}", "2024-13-45"]),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
)
PARAMS = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=10)), VALUES, max_size=8)


@pytest.fixture
def world(workspace):
    return make_world(workspace)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=PARAMS, raw=st.binary(max_size=200), as_body=st.booleans(), json_body=st.booleans())
def test_it_never_answers_5xx(client, world, params, raw, as_body, json_body):
    url = f"/postback/impact/{world['connection'].postback_secret}"
    before = PostbackLog.objects.count()
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
    if as_body:
        content_type = "application/json" if json_body else "application/x-www-form-urlencoded"
        response = client.post(url + "?" + query, data=raw, content_type=content_type)
    else:
        response = client.get(url + "?" + query)
    assert response.status_code in (200, 400, 413, 415, 422), response.content
    assert PostbackLog.objects.count() == before + 1


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=120).filter(lambda q: "#" not in q))
def test_raw_query_strings_never_answer_5xx(client, world, query):
    response = client.get(f"/postback/impact/{world['connection'].postback_secret}?subid1=t&{query}")
    assert response.status_code in (200, 400, 413, 422), response.content
