"""REST API for clicks and conversions (``/api/v1/``); the report figures are in reports/api.py."""

from datetime import datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from offers.models import Member, NetworkConnection, Offer
from tracking import services
from tracking.models import Click, Conversion, ConversionSource, ConversionStatus
from workspaces.access import get_for_input, get_in_workspace
from workspaces.api_common import CodeField, JsonInput, PageFilter, WorkspaceApiView, paged, paginate, read_query
from workspaces.api_errors import UnprocessableInput, errors
from workspaces.dates import FIRST_DAY, LAST_DAY


def _actor(request) -> str:
    return f"api-key:{request.auth.prefix}"


class RangeFilter(PageFilter):
    start = serializers.DateField(required=False, help_text="First day, YYYY-MM-DD (inclusive)")
    end = serializers.DateField(required=False, help_text="Last day, YYYY-MM-DD (inclusive)")
    offer = serializers.UUIDField(required=False, help_text="Offer code")
    member = serializers.UUIDField(required=False, help_text="Member code")


def read_range(serializer_class, request) -> dict:
    """The query parameters (400 when malformed), with the days checked (422 when they make no range)."""
    data = read_query(serializer_class, request)
    problems = {}
    for name in ("start", "end"):
        if name in data and not (FIRST_DAY <= data[name] <= LAST_DAY):
            problems[name] = [f"Choose a day between {FIRST_DAY} and {LAST_DAY}."]
    if not problems and data.get("start") and data.get("end") and data["start"] > data["end"]:
        problems["start"] = ["The start must not be after the end."]
    if problems:
        raise UnprocessableInput(problems)
    return data


def _in_range(qs, field: str, data: dict):
    """Rows of ``field`` within the days ``start``..``end`` (inclusive) in the display time zone."""
    tz = timezone.get_default_timezone()
    if "start" in data:
        qs = qs.filter(**{f"{field}__gte": datetime.combine(data["start"], time.min, tzinfo=tz)})
    if "end" in data:
        qs = qs.filter(**{f"{field}__lt": datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=tz)})
    return qs


# --- Clicks -------------------------------------------------------------------


class ClickOutput(serializers.Serializer):
    transaction_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    link = serializers.CharField(source="link.code")
    offer = CodeField()
    member = CodeField()
    is_unique = serializers.BooleanField()
    is_bot = serializers.BooleanField()
    offer_state = serializers.CharField()
    referrer = serializers.CharField()
    user_agent = serializers.CharField()
    sub1 = serializers.CharField()
    sub2 = serializers.CharField()
    sub3 = serializers.CharField()
    sub4 = serializers.CharField()
    sub5 = serializers.CharField()


class ClickListApi(WorkspaceApiView):
    """Clicks, newest first, by cursor. Bots are included and flagged (``is_bot``)."""

    @extend_schema(
        parameters=[RangeFilter],
        responses={200: paged(ClickOutput, "ClickPage"), **errors(400, 422)},
        operation_id="clicks_list",
    )
    def get(self, request):
        data = read_range(RangeFilter, request)
        qs = Click.objects.filter(workspace=request.workspace).select_related("link", "offer", "member")
        qs = _in_range(qs, "created_at", data)
        if "offer" in data:
            qs = qs.filter(offer=get_for_input(request.workspace, Offer, data["offer"], field="offer"))
        if "member" in data:
            qs = qs.filter(member=get_for_input(request.workspace, Member, data["member"], field="member"))
        return paginate(self, request, qs, ClickOutput)


# --- Conversions --------------------------------------------------------------


class ConversionOutput(serializers.Serializer):
    code = serializers.UUIDField()
    transaction_id = serializers.CharField()
    external_id = serializers.CharField()
    network = serializers.CharField()
    connection = CodeField(allow_null=True)
    offer = CodeField(allow_null=True)
    member = CodeField(allow_null=True)
    status = serializers.CharField()
    status_reason = serializers.CharField()
    source = serializers.CharField()
    currency = serializers.CharField()
    sale_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    network_payout = serializers.DecimalField(max_digits=14, decimal_places=2)
    member_payout = serializers.DecimalField(max_digits=14, decimal_places=2)
    event_at = serializers.DateTimeField()
    locking_at = serializers.DateTimeField(allow_null=True)
    affiliate_mismatch = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _conversions(workspace):
    return Conversion.objects.filter(workspace=workspace).select_related("connection", "offer", "member")


class ConversionListApi(WorkspaceApiView):
    """Conversions, newest event first, by cursor."""

    class FilterSerializer(RangeFilter):
        status = serializers.ChoiceField(choices=ConversionStatus.choices, required=False)
        source = serializers.ChoiceField(choices=ConversionSource.choices, required=False)
        network = serializers.UUIDField(required=False, help_text="Network connection code")

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(ConversionOutput, "ConversionPage"), **errors(400, 422)},
        operation_id="conversions_list",
    )
    def get(self, request):
        data = read_range(self.FilterSerializer, request)
        qs = _in_range(_conversions(request.workspace), "event_at", data)
        if "offer" in data:
            qs = qs.filter(offer=get_for_input(request.workspace, Offer, data["offer"], field="offer"))
        if "member" in data:
            qs = qs.filter(member=get_for_input(request.workspace, Member, data["member"], field="member"))
        if "network" in data:
            qs = qs.filter(
                connection=get_for_input(request.workspace, NetworkConnection, data["network"], field="network")
            )
        for name in ("status", "source"):
            if name in data:
                qs = qs.filter(**{name: data[name]})
        return paginate(self, request, qs, ConversionOutput, ordering=("-event_at", "-id"))


class ConversionDetailApi(WorkspaceApiView):
    @extend_schema(responses={200: ConversionOutput, **errors(404)})
    def get(self, request, code):
        conversion = get_in_workspace(request.workspace, _conversions(request.workspace), code=code)
        return Response(ConversionOutput(conversion).data)


def _change_status(request, code, input_serializer, status: str) -> Response:
    """Move one conversion to ``status`` with the reason the body gives; answer the conversion as it now is."""
    conversion = get_in_workspace(request.workspace, Conversion, code=code)
    serializer = input_serializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    services.change_conversion_status(
        conversion=conversion, status=status, reason=serializer.validated_data["reason"], actor=_actor(request)
    )
    return Response(ConversionOutput(_conversions(request.workspace).get(pk=conversion.pk)).data)


class ConversionApproveApi(WorkspaceApiView):
    """Approve a pending conversion (statuses only move forward)."""

    @extend_schema_serializer(component_name="ConversionApproveInput")
    class InputSerializer(JsonInput):
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: ConversionOutput, **errors(400, 404, 422)})
    def post(self, request, code):
        return _change_status(request, code, self.InputSerializer, ConversionStatus.APPROVED)


class ConversionRejectApi(WorkspaceApiView):
    """Reject a pending conversion; the reason is kept in its history."""

    @extend_schema_serializer(component_name="ConversionRejectInput")
    class InputSerializer(JsonInput):
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses={200: ConversionOutput, **errors(400, 404, 422)})
    def post(self, request, code):
        return _change_status(request, code, self.InputSerializer, ConversionStatus.REJECTED)
