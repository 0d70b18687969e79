"""REST API for clicks, conversions and report figures (``/api/v1/``)."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from offers.api import ERRORS, CodeField, paged, paginate, resolve
from offers.models import Member, NetworkConnection, Offer
from tracking import reports, services
from tracking.models import Click, Conversion, ConversionSource, ConversionStatus
from workspaces.access import get_in_workspace
from workspaces.api_auth import ApiKeyThrottle


def _actor(request) -> str:
    return f"api-key:{request.auth.prefix}"


def _plausible(value: date) -> date:
    if not (reports.FIRST_DAY <= value <= reports.LAST_DAY):
        raise serializers.ValidationError(f"Choose a day between {reports.FIRST_DAY} and {reports.LAST_DAY}.")
    return value


class RangeFilter(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day, YYYY-MM-DD (inclusive)")
    end = serializers.DateField(required=False, help_text="Last day, YYYY-MM-DD (inclusive)")

    def validate_start(self, value):
        return _plausible(value)

    def validate_end(self, value):
        return _plausible(value)

    offer = serializers.UUIDField(required=False, help_text="Offer code")
    member = serializers.UUIDField(required=False, help_text="Member code")

    def validate(self, data):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise serializers.ValidationError({"start": ["The start must not be after the end."]})
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


class ClickListApi(APIView):
    """Clicks, newest first, by cursor. Bots are included and flagged (``is_bot``)."""

    throttle_classes = [ApiKeyThrottle]

    @extend_schema(
        parameters=[RangeFilter], responses={200: paged(ClickOutput, "ClickPage"), **ERRORS}, operation_id="clicks_list"
    )
    def get(self, request):
        filters = RangeFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        qs = Click.objects.filter(workspace=request.workspace).select_related("link", "offer", "member")
        qs = _in_range(qs, "created_at", data)
        if "offer" in data:
            qs = qs.filter(offer=resolve(request.workspace, Offer, data["offer"], "offer"))
        if "member" in data:
            qs = qs.filter(member=resolve(request.workspace, Member, data["member"], "member"))
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


class ConversionListApi(APIView):
    """Conversions, newest event first, by cursor."""

    throttle_classes = [ApiKeyThrottle]

    class FilterSerializer(RangeFilter):
        status = serializers.ChoiceField(choices=ConversionStatus.choices, required=False)
        source = serializers.ChoiceField(choices=ConversionSource.choices, required=False)
        network = serializers.UUIDField(required=False, help_text="Network connection code")

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(ConversionOutput, "ConversionPage"), **ERRORS},
        operation_id="conversions_list",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        qs = _in_range(_conversions(request.workspace), "event_at", data)
        if "offer" in data:
            qs = qs.filter(offer=resolve(request.workspace, Offer, data["offer"], "offer"))
        if "member" in data:
            qs = qs.filter(member=resolve(request.workspace, Member, data["member"], "member"))
        if "network" in data:
            qs = qs.filter(connection=resolve(request.workspace, NetworkConnection, data["network"], "network"))
        for name in ("status", "source"):
            if name in data:
                qs = qs.filter(**{name: data[name]})
        return paginate(self, request, qs, ConversionOutput, ordering=("-event_at", "-id"))


class ConversionDetailApi(APIView):
    throttle_classes = [ApiKeyThrottle]

    @extend_schema(responses={200: ConversionOutput, **ERRORS})
    def get(self, request, code):
        conversion = get_in_workspace(request.workspace, _conversions(request.workspace), code=code)
        return Response(ConversionOutput(conversion).data)


class ConversionApproveApi(APIView):
    """Approve a pending conversion (statuses only move forward)."""

    throttle_classes = [ApiKeyThrottle]

    @extend_schema_serializer(component_name="ConversionApproveInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: ConversionOutput, **ERRORS})
    def post(self, request, code):
        conversion = get_in_workspace(request.workspace, Conversion, code=code)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_conversion_status(
            conversion=conversion,
            status=ConversionStatus.APPROVED,
            reason=serializer.validated_data["reason"],
            actor=_actor(request),
        )
        return Response(ConversionOutput(_conversions(request.workspace).get(pk=conversion.pk)).data)


class ConversionRejectApi(APIView):
    """Reject a pending conversion; the reason is kept in its history."""

    throttle_classes = [ApiKeyThrottle]

    @extend_schema_serializer(component_name="ConversionRejectInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses={200: ConversionOutput, **ERRORS})
    def post(self, request, code):
        conversion = get_in_workspace(request.workspace, Conversion, code=code)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_conversion_status(
            conversion=conversion,
            status=ConversionStatus.REJECTED,
            reason=serializer.validated_data["reason"],
            actor=_actor(request),
        )
        return Response(ConversionOutput(_conversions(request.workspace).get(pk=conversion.pk)).data)


# --- Reports ------------------------------------------------------------------

REPORT_PARAMETERS = [
    OpenApiParameter("preset", str, enum=list(reports.PRESETS), description="Date range preset (default 30d)"),
    OpenApiParameter("start", str, description="YYYY-MM-DD, with preset=custom"),
    OpenApiParameter("end", str, description="YYYY-MM-DD, with preset=custom"),
    OpenApiParameter("offer", str, description="Offer code"),
    OpenApiParameter("member", str, description="Member code"),
    OpenApiParameter("project", str, description="Project code"),
    OpenApiParameter("network", str, description="Network connection code"),
    OpenApiParameter("status", str, enum=list(reports.STATUS_CHOICES), description="Which conversions count"),
    OpenApiParameter("currency", str, description="Currency of the money figures (default: the workspace's)"),
]
TABLE_PARAMETERS = [
    OpenApiParameter("sort", str, description="Column to sort by, '-' for descending (default -clicks)"),
    OpenApiParameter("limit", int, description="Rows to return, 1-1000 (default 100)"),
    OpenApiParameter("offset", int, description="Rows to skip"),
]


class Figures(serializers.Serializer):
    clicks = serializers.IntegerField()
    unique_clicks = serializers.IntegerField()
    bot_clicks = serializers.IntegerField()
    conversions = serializers.IntegerField()
    conversion_rate = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    sales = serializers.DecimalField(max_digits=16, decimal_places=2)
    network_payout = serializers.DecimalField(max_digits=16, decimal_places=2)
    member_payout = serializers.DecimalField(max_digits=16, decimal_places=2)
    epc = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    other_currency_conversions = serializers.IntegerField()


class RangeOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    currency = serializers.CharField()
    statuses = serializers.ListField(child=serializers.CharField())


def _report_filters(request) -> reports.ReportFilters:
    form = reports.ReportFilterForm(request.query_params, workspace=request.workspace)
    if not form.is_valid():
        raise serializers.ValidationError({k: list(v) for k, v in form.errors.items()})
    return form.filters()


def _range(f: reports.ReportFilters) -> dict:
    return {"start": f.start, "end": f.end, "currency": f.currency, "statuses": list(f.statuses)}


class ReportSummaryApi(APIView):
    """The dashboard's figures for a range, the previous period of equal length and the change in percent."""

    throttle_classes = [ApiKeyThrottle]

    OutputSerializer = inline_serializer(
        "ReportSummary",
        {
            "range": RangeOutput(),
            "current": Figures(),
            "previous": Figures(),
            "change": serializers.DictField(
                child=serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
            ),
        },
    )

    @extend_schema(parameters=REPORT_PARAMETERS, responses={200: OutputSerializer, **ERRORS})
    def get(self, request):
        f = _report_filters(request)
        data = reports.summary_with_change(request.workspace, f)
        return Response(
            {
                "range": RangeOutput(_range(f)).data,
                "current": Figures(data["current"]).data,
                "previous": Figures(data["previous"]).data,
                "change": {k: (None if v is None else str(v)) for k, v in data["change"].items()},
            }
        )


class _Paging(serializers.Serializer):
    sort = serializers.CharField(required=False, default="-clicks")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000, default=0)


class MemberFigures(Figures):
    member = serializers.UUIDField(allow_null=True, source="member__code")
    name = serializers.CharField(allow_null=True, source="member__name")
    affiliate_id = serializers.CharField(allow_null=True, source="member__affiliate_id")


class OfferFigures(Figures):
    offer = serializers.UUIDField(allow_null=True, source="offer__code")
    name = serializers.CharField(allow_null=True, source="offer__name")


def _table(view, request, dimension: str, row_serializer):
    f = _report_filters(request)
    paging = _Paging(data=request.query_params)
    paging.is_valid(raise_exception=True)
    p = paging.validated_data
    qs = reports.performance_by(request.workspace, f, dimension, p["sort"])
    rows = list(reports.iter_rows(qs[p["offset"] : p["offset"] + p["limit"]], dimension))
    return Response({"range": RangeOutput(_range(f)).data, "results": row_serializer(rows, many=True).data})


class ReportByMemberApi(APIView):
    """Performance by member (the same figures as the page), sorted and paged by offset."""

    throttle_classes = [ApiKeyThrottle]

    @extend_schema(
        parameters=REPORT_PARAMETERS + TABLE_PARAMETERS,
        responses={
            200: inline_serializer("ReportByMember", {"range": RangeOutput(), "results": MemberFigures(many=True)}),
            **ERRORS,
        },
    )
    def get(self, request):
        return _table(self, request, "member", MemberFigures)


class ReportByOfferApi(APIView):
    """Performance by offer, sorted and paged by offset."""

    throttle_classes = [ApiKeyThrottle]

    @extend_schema(
        parameters=REPORT_PARAMETERS + TABLE_PARAMETERS,
        responses={
            200: inline_serializer("ReportByOffer", {"range": RangeOutput(), "results": OfferFigures(many=True)}),
            **ERRORS,
        },
    )
    def get(self, request):
        return _table(self, request, "offer", OfferFigures)


class DayFigures(Figures):
    day = serializers.DateField()


class ReportByDayApi(APIView):
    """One row per day of the range (days without activity are zeros)."""

    throttle_classes = [ApiKeyThrottle]

    @extend_schema(
        parameters=REPORT_PARAMETERS,
        responses={
            200: inline_serializer("ReportByDay", {"range": RangeOutput(), "results": DayFigures(many=True)}),
            **ERRORS,
        },
    )
    def get(self, request):
        f = _report_filters(request)
        rows = list(reports.by_day(request.workspace, f))
        return Response({"range": RangeOutput(_range(f)).data, "results": DayFigures(rows, many=True).data})
