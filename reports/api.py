"""REST API for report figures (``/api/v1/reports/``): the report pages' filters as query parameters."""

from dataclasses import dataclass

from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from config.db_router import reads_from_replica
from reports import selectors
from reports.filters import PRESETS, STATUS_CHOICES, ReportFilterForm, ReportFilters
from workspaces.api_common import ApiInput, CurrencyField, WorkspaceApiView, read_query
from workspaces.api_errors import UnprocessableInput, errors
from workspaces.schema import ApiAutoSchema


class ReportQuery(ApiInput):
    # The report pages' filters, as query parameters.

    preset = serializers.ChoiceField(
        choices=list(PRESETS), required=False, help_text="Date range (default 30d; start or end alone: custom)"
    )
    start = serializers.DateField(required=False, help_text="First day, YYYY-MM-DD, with preset custom")
    end = serializers.DateField(required=False, help_text="Last day, YYYY-MM-DD, with preset custom")
    offer = serializers.UUIDField(required=False, help_text="Offer code")
    member = serializers.UUIDField(required=False, help_text="Member code")
    project = serializers.UUIDField(required=False, help_text="Project code")
    network = serializers.UUIDField(required=False, help_text="Network connection code")
    status = serializers.ChoiceField(
        choices=list(STATUS_CHOICES), required=False, help_text="Which conversions count (default counted)"
    )
    currency = CurrencyField(
        required=False,
        help_text="Currency of the money figures (default: the workspace's)",
    )


class TableQuery(ReportQuery):
    sort = serializers.ChoiceField(
        choices=[prefix + name for name in (*selectors.SORTABLE, "name") for prefix in ("", "-")],
        required=False,
        default="-clicks",
        help_text="Column to sort by, '-' for descending",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100, help_text="Rows")
    offset = serializers.IntegerField(
        required=False, min_value=0, max_value=1_000_000, default=0, help_text="Rows to skip"
    )


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


def _report_filters(request, query=ReportQuery) -> ReportFilters:
    """The report filters: malformed parameters are a 400; unknown codes and impossible ranges a 422."""
    read_query(query, request)
    form = ReportFilterForm(request.query_params, workspace=request.workspace)
    if not form.is_valid():
        raise UnprocessableInput({k: list(v) for k, v in form.errors.items()})
    return form.filters()


def _range(f: ReportFilters) -> dict:
    return {"start": f.start, "end": f.end, "currency": f.currency, "statuses": list(f.statuses)}


class ReportSummaryApi(WorkspaceApiView):
    """The dashboard's figures for a range, the previous period of equal length and the change in percent."""

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

    @method_decorator(reads_from_replica)
    @extend_schema(parameters=[ReportQuery], responses={200: OutputSerializer, **errors(400, 422)})
    def get(self, request):
        f = _report_filters(request)
        data = selectors.summary_with_change(request.workspace, f)
        return Response(
            {
                "range": RangeOutput(_range(f)).data,
                "current": Figures(data["current"]).data,
                "previous": Figures(data["previous"]).data,
                "change": {k: (None if v is None else str(v)) for k, v in data["change"].items()},
            }
        )


class MemberFigures(Figures):
    member = serializers.UUIDField(allow_null=True, source="member__code")
    name = serializers.CharField(allow_null=True, source="member__name")
    affiliate_id = serializers.CharField(allow_null=True, source="member__affiliate_id")


class OfferFigures(Figures):
    offer = serializers.UUIDField(allow_null=True, source="offer__code")
    name = serializers.CharField(allow_null=True, source="offer__name")


@dataclass(frozen=True)
class Table:
    """A performance table of the API: rows per ``dimension``, each serialised by ``row``."""

    dimension: str
    row: type[Figures]
    response: serializers.Serializer  # the whole answer, as the schema names it
    description: str


def _table_response(name: str, row: type[Figures]):
    return inline_serializer(name, {"range": RangeOutput(), "results": row(many=True)})


BY_MEMBER = Table(
    dimension="member",
    row=MemberFigures,
    response=_table_response("ReportByMember", MemberFigures),
    description="Performance by member (the same figures as the page), sorted and paged by offset.",
)
BY_OFFER = Table(
    dimension="offer",
    row=OfferFigures,
    response=_table_response("ReportByOffer", OfferFigures),
    description="Performance by offer, sorted and paged by offset.",
)


class ReportTableSchema(ApiAutoSchema):
    """Each URL of ``ReportTableApi`` states its own table: rows and description come from the view's ``table``."""

    def get_description(self):
        return self.view.table.description

    def get_override_parameters(self):
        return [TableQuery]

    def get_response_serializers(self):
        return {200: self.view.table.response, **errors(400, 422)}


class ReportTableApi(WorkspaceApiView):
    """Rows per member or per offer (``table``, given by the URL), sorted and paged by offset."""

    schema = ReportTableSchema()
    table: Table | None = None  # set by the URL: ReportTableApi.as_view(table=BY_MEMBER)

    @method_decorator(reads_from_replica)
    def get(self, request):
        f = _report_filters(request, TableQuery)
        p = read_query(TableQuery, request)
        qs = selectors.performance_by(request.workspace, f, self.table.dimension, p["sort"])
        rows = list(selectors.iter_rows(qs[p["offset"] : p["offset"] + p["limit"]], self.table.dimension))
        return Response({"range": RangeOutput(_range(f)).data, "results": self.table.row(rows, many=True).data})


class DayFigures(Figures):
    day = serializers.DateField()


class ReportByDayApi(WorkspaceApiView):
    """One row per day of the range (days without activity are zeros)."""

    @method_decorator(reads_from_replica)
    @extend_schema(
        parameters=[ReportQuery],
        responses={
            200: inline_serializer("ReportByDay", {"range": RangeOutput(), "results": DayFigures(many=True)}),
            **errors(400, 422),
        },
    )
    def get(self, request):
        f = _report_filters(request)
        rows = list(selectors.by_day(request.workspace, f))
        return Response({"range": RangeOutput(_range(f)).data, "results": DayFigures(rows, many=True).data})
