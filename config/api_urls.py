"""Every public API endpoint, listed explicitly (no routers)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from offers.api import (
    LinkCreateApi,
    LinkListApi,
    MemberBulkCreateApi,
    MemberCreateApi,
    MemberDetailApi,
    MemberListApi,
    OfferCreateApi,
    OfferDetailApi,
    OfferListApi,
    OfferPauseApi,
    OfferResumeApi,
)
from outbound.api import EventListApi
from payments.api import PaymentListApi
from reports.api import BY_MEMBER, BY_OFFER, ReportByDayApi, ReportSummaryApi, ReportTableApi
from tracking.api import (
    ClickListApi,
    ConversionApproveApi,
    ConversionDetailApi,
    ConversionListApi,
    ConversionRejectApi,
)
from workspaces.api import NotFoundApi, WorkspaceDetailApi

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="schema"),
    path(
        "docs/",
        # The split view loads Swagger UI's set-up as a script of its own (no inline script).
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema",
            template_name="api/swagger_ui.html",
            permission_classes=[],
            authentication_classes=[],
        ),
        name="docs",
    ),
    path("workspace/", WorkspaceDetailApi.as_view(), name="workspace"),
    path("offers/", OfferListApi.as_view(), name="offer_list"),
    path("offers/create/", OfferCreateApi.as_view(), name="offer_create"),
    path("offers/<uuid:code>/", OfferDetailApi.as_view(), name="offer_detail"),
    path("offers/<uuid:code>/pause/", OfferPauseApi.as_view(), name="offer_pause"),
    path("offers/<uuid:code>/resume/", OfferResumeApi.as_view(), name="offer_resume"),
    path("members/", MemberListApi.as_view(), name="member_list"),
    path("members/create/", MemberCreateApi.as_view(), name="member_create"),
    path("members/bulk-create/", MemberBulkCreateApi.as_view(), name="member_bulk_create"),
    path("members/<uuid:code>/", MemberDetailApi.as_view(), name="member_detail"),
    path("links/", LinkListApi.as_view(), name="link_list"),
    path("links/create/", LinkCreateApi.as_view(), name="link_create"),
    path("clicks/", ClickListApi.as_view(), name="click_list"),
    path("conversions/", ConversionListApi.as_view(), name="conversion_list"),
    path("conversions/<uuid:code>/", ConversionDetailApi.as_view(), name="conversion_detail"),
    path("conversions/<uuid:code>/approve/", ConversionApproveApi.as_view(), name="conversion_approve"),
    path("conversions/<uuid:code>/reject/", ConversionRejectApi.as_view(), name="conversion_reject"),
    path("reports/summary/", ReportSummaryApi.as_view(), name="report_summary"),
    path("reports/by-member/", ReportTableApi.as_view(table=BY_MEMBER), name="report_by_member"),
    path("reports/by-offer/", ReportTableApi.as_view(table=BY_OFFER), name="report_by_offer"),
    path("reports/by-day/", ReportByDayApi.as_view(), name="report_by_day"),
    path("payments/", PaymentListApi.as_view(), name="payment_list"),
    path("events/", EventListApi.as_view(), name="event_list"),
    # Last: any other path ending in "/" (a malformed code included) gets the API's JSON 404.
    # Paths without the slash first get CommonMiddleware's redirect to it, as everywhere else.
    # [\s\S] rather than ".": a code holding a line break is malformed too.
    re_path(r"^(?:[\s\S]*/)?$", NotFoundApi.as_view(), name="not_found"),
]
