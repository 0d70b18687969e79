"""The OpenAPI schema says what the API accepts and answers, where drf-spectacular alone would not.

- ApiKeyScheme: the API key scheme (loaded by WorkspacesConfig.ready);
- ApiAutoSchema: request text fields carry the pattern DRF really enforces (no NUL character; a
  non-blank field needs more than white space), amounts the digits AmountField accepts, and
  JSON bodies no fields but their own (JsonInput);
- describe_api (post-processing): every operation answers 401 and 429 (with WWW-Authenticate and
  Retry-After), and an optional query parameter sent empty counts as not sent, as DRF reads it.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers

from workspaces.api_errors import DESCRIPTIONS


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "workspaces.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A workspace API key: hub_<prefix>_<secret>"}


# What str.strip() removes (DRF trims text before it checks for blanks), written for JSON Schema's regexes.
WHITE_SPACE = r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = rf"^[^\u0000]*[^\u0000{WHITE_SPACE}][^\u0000]*$"


class ApiAutoSchema(AutoSchema):
    _direction = None  # of the serializer being mapped: "request" or "response"

    def _map_basic_serializer(self, serializer, direction):
        from workspaces.api_common import JsonInput

        outer, self._direction = self._direction, direction
        try:
            schema = super()._map_basic_serializer(serializer, direction)
        finally:
            self._direction = outer
        if direction == "request" and isinstance(force_instance(serializer), JsonInput):
            schema["additionalProperties"] = False  # JsonInput refuses fields it does not name
        return schema

    def _insert_field_validators(self, field, schema):
        from workspaces.api_common import AmountField

        super()._insert_field_validators(field, schema)
        if self._direction != "request" or field.read_only:
            return
        if isinstance(field, AmountField):
            schema["pattern"] = field.pattern
        elif isinstance(field, serializers.CharField) and not {"pattern", "format", "enum"} & set(schema):
            # DRF refuses a NUL character in any text, and trims before it checks for blanks.
            if field.allow_blank:
                schema["pattern"] = NO_NUL
            else:
                schema["pattern"] = NOT_BLANK if field.trim_whitespace else r"^[^\u0000]+$"


def _error_response(code: int) -> dict:
    return {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


AUTH_ERRORS = {
    401: {"WWW-Authenticate": '`Bearer realm="api"`: send the key as `Authorization: Bearer <key>`.'},
    429: {"Retry-After": "Seconds to wait before the next request with this key."},
}
HEADER_TYPES = {"WWW-Authenticate": {"type": "string"}, "Retry-After": {"type": "integer", "minimum": 0}}


def describe_api(result, generator, request, public):
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not operation.get("security"):
                continue
            responses = operation.setdefault("responses", {})
            for code, headers in AUTH_ERRORS.items():
                response = responses.setdefault(str(code), _error_response(code))
                response["headers"] = {
                    name: {"schema": HEADER_TYPES[name], "description": text, "required": True}
                    for name, text in headers.items()
                }
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    # DRF reads ?offer= (empty) from a query string as if it were not sent.
                    parameter["allowEmptyValue"] = True
    return result
