"""The OpenAPI schema states what the API accepts and answers (tests/api/test_api_fuzz.py checks it holds)."""

import pytest

LIST_OPERATIONS = [
    "/api/v1/offers/",
    "/api/v1/members/",
    "/api/v1/links/",
    "/api/v1/clicks/",
    "/api/v1/conversions/",
    "/api/v1/payments/",
    "/api/v1/events/",
]
DETAIL_OPERATIONS = [
    ("get", "/api/v1/offers/{code}/"),
    ("patch", "/api/v1/offers/{code}/"),
    ("patch", "/api/v1/members/{code}/"),
    ("post", "/api/v1/offers/{code}/pause/"),
    ("post", "/api/v1/offers/{code}/resume/"),
    ("get", "/api/v1/members/{code}/"),
    ("get", "/api/v1/conversions/{code}/"),
    ("post", "/api/v1/conversions/{code}/approve/"),
    ("post", "/api/v1/conversions/{code}/reject/"),
]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _parameter(operation, name):
    return next(p for p in operation["parameters"] if p["name"] == name)


def _component(schema, ref_or_schema):
    if "$ref" in ref_or_schema:
        return schema["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[1]]
    return ref_or_schema


def _request_schema(schema, operation):
    return _component(schema, operation["requestBody"]["content"]["application/json"]["schema"])


def test_every_operation_answers_401_and_429_with_the_error_body_and_headers(schema):
    operations = list(_operations(schema))
    assert len(operations) == 25
    for method, path, operation in operations:
        responses = operation["responses"]
        for code, header in (("401", "WWW-Authenticate"), ("429", "Retry-After")):
            assert code in responses, (method, path, code)
            assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            assert header in responses[code]["headers"], (method, path, code)
        assert operation["security"] == [{"ApiKey": []}]


def test_the_error_body_is_documented(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]) == {"error", "fields"}


def test_detail_operations_answer_404_and_lists_and_writes_answer_400_and_422(schema):
    for method, path in DETAIL_OPERATIONS:
        assert "404" in schema["paths"][path][method]["responses"], path
    for method, path, operation in _operations(schema):
        if operation.get("parameters") and any(p["in"] == "query" for p in operation["parameters"]):
            assert {"400", "422"} <= set(operation["responses"]), (method, path)
        if "requestBody" in operation:
            assert {"400", "422"} <= set(operation["responses"]), (method, path)


@pytest.mark.parametrize("path", LIST_OPERATIONS)
def test_lists_state_their_page_size_and_cursor(schema, path):
    operation = schema["paths"][path]["get"]
    limit = _parameter(operation, "limit")["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == ("integer", 1, 200, 50)
    assert _parameter(operation, "cursor")["schema"]["type"] == "string"
    # DRF reads ?offer= (empty) as not sent; the schema says so.
    assert all(p.get("allowEmptyValue") for p in operation["parameters"] if p["in"] == "query")


def test_report_tables_state_their_limits_and_sort_keys(schema):
    operation = schema["paths"]["/api/v1/reports/by-member/"]["get"]
    limit = _parameter(operation, "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 1000)
    offset = _parameter(operation, "offset")["schema"]
    assert (offset["minimum"], offset["maximum"]) == (0, 1_000_000)
    assert {"clicks", "-clicks", "name", "-member_payout"} <= set(_parameter(operation, "sort")["schema"]["enum"])
    assert _parameter(operation, "start")["schema"]["format"] == "date"
    assert _parameter(operation, "offer")["schema"]["format"] == "uuid"
    assert _parameter(operation, "currency")["schema"]["pattern"] == "^[A-Z]{3}$"


def test_names_must_not_be_blank(schema):
    for path in ("/api/v1/members/create/", "/api/v1/offers/create/"):
        name = _request_schema(schema, schema["paths"][path]["post"])["properties"]["name"]
        assert name["minLength"] == 1
        # More than white space, and no NUL character: what DRF checks.
        assert name["pattern"].startswith("^[^\\u0000]*[^\\u0000\\t\\n")


def test_bulk_create_states_its_list_its_items_and_its_answers(schema):
    operation = schema["paths"]["/api/v1/members/bulk-create/"]["post"]
    body = _request_schema(schema, operation)
    members = body["properties"]["members"]
    assert (members["minItems"], members["maxItems"]) == (1, 500)
    item = _component(schema, members["items"])
    assert item["required"] == ["name"] and item["additionalProperties"] is False
    responses = operation["responses"]
    assert responses["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/MemberBulkResult")
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/MemberBulkResult")
    assert responses["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    error = schema["components"]["schemas"]["MemberBulkError"]
    assert set(error["properties"]) == {"index", "error", "fields"}


def test_emails_are_nullable_and_bodies_closed(schema):
    output = schema["components"]["schemas"]["MemberOutput"]["properties"]
    for name in ("email", "paypal_email"):
        assert output[name]["nullable"] is True and output[name]["format"] == "email"
    body = _request_schema(schema, schema["paths"]["/api/v1/members/create/"]["post"])
    assert body["properties"]["email"]["nullable"] is True
    assert body["additionalProperties"] is False


def test_amounts_are_strings_of_the_digits_accepted(schema):
    body = _request_schema(schema, schema["paths"]["/api/v1/offers/create/"]["post"])
    assert body["properties"]["payout_flat"]["pattern"] == "^(?:[0-9]{1,10}(?:\\.[0-9]{1,2})?)$"
    percent = body["properties"]["payout_percent"]["pattern"]
    assert percent == "^(?:100(?:\\.0{1,3})?|[0-9]{1,2}(?:\\.[0-9]{1,3})?)$"
