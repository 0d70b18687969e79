"""What every API endpoint builds on: the base view, strict JSON input, filters, cursor pages and codes in payloads.

Every endpoint of ``/api/v1/`` subclasses ``WorkspaceApiView``: it is called with a workspace API
key (401 without one; workspaces/api_auth.py), ``request.workspace`` is the key's workspace, and
each key has its own rate limit (429 past it). Errors answer in one format (workspaces/api_errors.py).

The OpenAPI schema is generated from these classes, so what they accept is what the
schema says (workspaces/schema.py fills in what drf-spectacular cannot read off them):
- a JSON body value must have the JSON type the schema gives it (DRF alone turns 1
  into "1" and "yes" into true);
- a request whose shape breaks the schema answers 400; one that has the shape but
  breaks a rule the schema cannot state (an unknown code, a start after the end)
  answers 422 (workspaces/api_errors.py).
"""

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.views import APIView

from workspaces.api_auth import ApiKeyAuthentication, ApiKeyThrottle, HasWorkspaceKey
from workspaces.api_errors import UnprocessableInput

# --- The view -------------------------------------------------------------------


class WorkspaceApiView(APIView):
    # The base of every endpoint: a workspace API key authenticates (its workspace is request.workspace),
    # and each key is throttled on its own. (A comment: the schema would show a docstring on every operation.)

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasWorkspaceKey]
    throttle_classes = [ApiKeyThrottle]


# --- Input ----------------------------------------------------------------------

# A refusal of a value the schema allows (a 31 February, a time the calendar cannot hold): 422.
RULE = "rule"
# The forms the schema's formats mean; DRF alone also takes "20260105", naive times, UUIDs without dashes.
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATETIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _format_problem(field, value: str) -> tuple[str, str] | None:
    """(code, message) when ``value`` is not in the form the schema gives ``field``.

    The schema's formats are RFC 3339's, which also name a year 0, a leap second and times
    Python's calendar cannot hold: those are well-formed, and refused by a rule (code RULE).
    """
    if isinstance(field, serializers.UUIDField):
        if not UUID_TEXT.fullmatch(value):
            return "invalid", "Must be a valid UUID (8-4-4-4-12 hex digits)."
    elif isinstance(field, serializers.DateTimeField):
        if not DATETIME_TEXT.fullmatch(value):
            return "invalid", "Use YYYY-MM-DDThh:mm:ss with Z or an offset, e.g. 2026-01-15T12:00:00Z."
        try:
            datetime.fromisoformat(value.upper()).astimezone(timezone.get_current_timezone())
        except OverflowError:
            return RULE, "Out of range."
        except ValueError:
            if value.startswith("0000") or value[17:19] == "60":
                return RULE, "Out of range (year 0 or a leap second)."
            return "invalid", "No such day or time."
    elif isinstance(field, serializers.DateField):
        if not DATE_TEXT.fullmatch(value):
            return "invalid", "Use YYYY-MM-DD."
        try:
            date.fromisoformat(value)
        except ValueError:
            if value.startswith("0000"):
                return RULE, "Out of range (year 0)."
            return "invalid", "No such day."
    return None


def _only_rules(detail) -> bool:
    if isinstance(detail, dict):
        return all(_only_rules(v) for v in detail.values())
    if isinstance(detail, list):
        return all(_only_rules(v) for v in detail)
    return getattr(detail, "code", None) == RULE


class ApiInput(serializers.Serializer):
    # Query parameters or a body. Codes, days and times must be in the schema's form (400); a
    # value in that form that names no real day answers 422, as any rule does.
    # (Comments, not docstrings, on these bases: the schema would show them as every input's description.)

    def raw_problems(self, data: Mapping) -> dict[str, list[str]]:
        """Problems DRF would not find in ``data`` as sent, by field name; a rule's carry code RULE."""
        problems = {}
        for name, field in self.fields.items():
            value = data.get(name)
            if isinstance(value, str) and value and not field.read_only:
                found = _format_problem(field, value)
                if found:
                    code, message = found
                    problems[name] = [ErrorDetail(message, code=code)]
        return problems

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        problems = self.raw_problems(data)
        # DRF checks the other fields (and reports a missing one); a field with a problem is left out.
        data = data.copy()
        for name in problems:
            data.pop(name, None)
        for name, field in self.fields.items():
            # RFC 3339 allows a lower-case t and z; Python's parser takes the upper-case ones only.
            if isinstance(field, serializers.DateTimeField) and isinstance(data.get(name), str):
                data[name] = data[name].upper()
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **problems}) from None
        if problems:
            raise serializers.ValidationError(problems)
        return value

    def is_valid(self, *, raise_exception=False):
        valid = super().is_valid(raise_exception=False)
        if not valid and raise_exception:
            if _only_rules(self.errors):
                raise UnprocessableInput(self.errors)
            raise serializers.ValidationError(self.errors)
        return valid


def _json_types(field) -> tuple[type, ...] | None:
    """The Python types a JSON body may carry for ``field`` (None: let the field decide)."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return (list,)
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return (dict,)
    if isinstance(
        field,
        serializers.CharField
        | serializers.ChoiceField
        | serializers.UUIDField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.DecimalField,
    ):
        return (str,)
    return None


JSON_TYPE_NAMES = {bool: "true or false", int: "an integer", list: "a list", dict: "an object", str: "a string"}


class JsonInput(ApiInput):
    # A JSON request body as the schema states it: only the fields it names (a misspelt one is an
    # error, not silently dropped), each of its JSON type ("name": 1 is an error, not "1").

    def raw_problems(self, data: Mapping) -> dict[str, list[str]]:
        problems = {name: ["Unknown field."] for name in data if name not in self.fields}
        for name, field in self.fields.items():
            value = data.get(name)
            types = _json_types(field)
            if field.read_only or value is None or types is None:
                continue
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                problems[name] = [f"Must be {JSON_TYPE_NAMES[types[0]]}."]
            elif isinstance(value, str) and len(value) > (getattr(field, "max_length", None) or len(value)):
                # The length as sent: DRF would count it after trimming white space.
                problems[name] = [f"Ensure this field has no more than {field.max_length} characters."]
        return {**super().raw_problems(data), **problems}


class AmountField(serializers.DecimalField):
    """A non-negative decimal sent as a string, e.g. "12.50": exactly the digits the schema's pattern allows.

    ``max_value`` may only be a power of ten (100 for a percentage), so that the pattern can state it.
    """

    def __init__(self, *, max_digits: int, decimal_places: int, max_value: int | None = None, **kwargs):
        super().__init__(
            max_digits=max_digits,
            decimal_places=decimal_places,
            min_value=Decimal(0),
            max_value=None if max_value is None else Decimal(max_value),
            **kwargs,
        )
        # [0-9], not \d: Python's \d also matches other scripts' digits, which JSON Schema's does not.
        whole = max_digits - decimal_places
        fraction = rf"(?:\.[0-9]{{1,{decimal_places}}})?"
        body = rf"[0-9]{{1,{whole}}}{fraction}"
        if max_value is not None:
            power = len(str(max_value)) - 1
            if max_value != 10**power:
                raise ValueError("max_value must be a power of ten")
            body = rf"{max_value}(?:\.0{{1,{decimal_places}}})?|[0-9]{{1,{power}}}{fraction}"
        self.pattern = rf"^(?:{body})$"
        self._regex = re.compile(self.pattern)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self._regex.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class CurrencyField(serializers.RegexField):
    """A three-letter currency code in capitals, e.g. "EUR"."""

    def __init__(self, **kwargs):
        super().__init__(r"\A[A-Z]{3}\Z", trim_whitespace=False, **kwargs)


# An address at a domain with a top-level domain, in ASCII: what Django's check and the schema's
# "email" format both accept (Django alone also takes a@localhost and a@[127.0.0.1]; the format
# alone also takes a@b and a@ü.example).
EMAIL_TEXT = r"^[!-~]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9]{1,59})$"


class OptionalEmailField(serializers.EmailField):
    """An email address, or null for none (stored as ""; shown as null, never as "")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        if not kwargs.get("read_only"):
            kwargs.setdefault("required", False)
            kwargs.setdefault("default", None)
        super().__init__(allow_null=True, **kwargs)
        self.validators.append(RegexValidator(EMAIL_TEXT, "Enter a valid email address."))

    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)
        return "" if value is None else value

    def to_representation(self, value):
        return value or None


# --- Filters and pages ----------------------------------------------------------


PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class PageFilter(ApiInput):
    # The query parameters of every list: a cursor from next/previous and the page size.

    cursor = serializers.CharField(required=False, help_text="Opaque; follow the next and previous links")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE, help_text="Items per page"
    )


def read_query(serializer_class, request) -> dict:
    """The request's query parameters, validated by ``serializer_class`` (400 when malformed)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ApiCursorPagination(CursorPagination):
    """Newest first, ``?limit=`` (validated by PageFilter), opaque ``cursor`` links in ``next``/``previous``."""

    page_size = PAGE_SIZE
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE
    ordering = ("-created_at", "-id")

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            # A cursor that decodes but names no position we could have written.
            raise UnprocessableInput({"cursor": ["Invalid cursor."]}) from None

    def decode_cursor(self, request):
        if not request.query_params.get(self.cursor_query_param):
            return None  # ?cursor= is the first page, as no cursor is
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise UnprocessableInput({"cursor": ["Invalid cursor."]}) from None


def paginate(view, request, queryset, serializer_class, ordering=None):
    paginator = ApiCursorPagination()
    if ordering:
        paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def paged(serializer_class, name: str):
    """The schema of a cursor-paginated list of ``serializer_class``."""
    return inline_serializer(
        name,
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


# --- Codes ----------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.UUID)
class CodeField(serializers.SlugRelatedField):
    """Shows a related object by its public code (never its database id)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", read_only=True, **kwargs)
