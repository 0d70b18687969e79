"""Error answers of the API: always ``{"error": "...", "fields": {...}}``, with a status that says whose fault.

- 400: the request does not match the schema (a malformed value, a missing field, a wrong JSON type);
- 401: no API key, or a malformed, unknown or revoked one;
- 404: no such object in the key's workspace (unknown, another workspace's, malformed), or no such path;
- 422: the request matches the schema but a rule refused it (an unknown code in a body or filter, a
  start after the end, a status that cannot change: a DomainError of a service);
- 429: too many requests for the key; ``Retry-After`` says when to try again.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workspaces.errors import DomainError

NOT_FOUND = "Not found."
INVALID = "Invalid input."


class UnprocessableInput(exceptions.ValidationError):
    """Input of the right shape that a rule refuses, field by field: 422."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"error": exc.message}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": INVALID, "fields": response.data}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response


# --- In the schema --------------------------------------------------------------

ERROR = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(help_text="What went wrong, in a sentence."),
        "fields": serializers.DictField(
            required=False, help_text="The problems by field name (and by item index in a list)."
        ),
    },
)
DESCRIPTIONS = {
    400: "The request does not match this schema (a malformed value, a missing field, a wrong JSON type); "
    "`fields` names each problem.",
    401: "No API key, or a malformed, unknown or revoked one.",
    404: "No such object in this key's workspace: an unknown code, another workspace's, or a malformed one.",
    422: "The request matches this schema but a rule refused it: an unknown code in the body or a filter, "
    "a start after the end, a status that cannot change. `error` says why; `fields` names the field, if one is to "
    "blame.",
    429: "Too many requests with this key; try again after `Retry-After` seconds.",
}


def errors(*codes: int) -> dict:
    """The error responses of an operation, for ``extend_schema(responses=...)``.

    401 and 429 are added to every operation by the schema's post-processing (workspaces/schema.py).
    """
    return {code: OpenApiResponse(ERROR, description=DESCRIPTIONS[code]) for code in codes}
