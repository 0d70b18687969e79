"""REST API for offers, members and links (``/api/v1/``), authenticated by workspace API keys."""

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from offers import services
from offers.models import ConversionType, Link, Member, NetworkConnection, Offer, PayoutType, Project, Protocol
from workspaces.access import get_for_input, get_in_workspace
from workspaces.api_common import (
    AmountField,
    CodeField,
    CurrencyField,
    JsonInput,
    OptionalEmailField,
    PageFilter,
    WorkspaceApiView,
    paged,
    paginate,
    read_query,
)
from workspaces.api_errors import INVALID, UnprocessableInput, errors
from workspaces.errors import DomainError

# --- Offers -------------------------------------------------------------------


class OfferOutput(serializers.Serializer):
    code = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    conversion_type = serializers.CharField()
    payout_type = serializers.CharField()
    payout_flat = serializers.DecimalField(max_digits=12, decimal_places=2)
    payout_percent = serializers.DecimalField(max_digits=6, decimal_places=3)
    currency = serializers.CharField()
    protocol = serializers.CharField()
    connection = CodeField(allow_null=True)
    offer_url = serializers.CharField()
    ios_url = serializers.CharField()
    android_url = serializers.CharField()
    fallback_url = serializers.CharField()
    utm_source = serializers.CharField()
    utm_medium = serializers.CharField()
    utm_campaign = serializers.CharField()
    utm_content = serializers.CharField()
    utm_term = serializers.CharField()
    allowed_domains = serializers.CharField()
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    paused = serializers.BooleanField()
    state = serializers.CharField()
    allow_multiple_conversions = serializers.BooleanField()
    archived = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_archived(self, offer) -> bool:
        return offer.archived_at is not None


class OfferListApi(WorkspaceApiView):
    """The workspace's offers, newest first."""

    class FilterSerializer(PageFilter):
        archived = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(OfferOutput, "OfferPage"), **errors(400, 422)},
        operation_id="offers_list",
    )
    def get(self, request):
        filters = read_query(self.FilterSerializer, request)
        qs = Offer.objects.filter(workspace=request.workspace).select_related("connection")
        archived = filters.get("archived")
        if archived is not None:
            qs = qs.filter(archived_at__isnull=not archived)
        return paginate(self, request, qs, OfferOutput)


class OfferCreateApi(WorkspaceApiView):
    """Create a Link Tracking Offer."""

    @extend_schema_serializer(component_name="OfferCreateInput")
    class InputSerializer(JsonInput):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        conversion_type = serializers.ChoiceField(choices=ConversionType.choices, default=ConversionType.SALE)
        payout_type = serializers.ChoiceField(choices=PayoutType.choices)
        payout_flat = AmountField(max_digits=12, decimal_places=2, required=False, help_text='e.g. "5.00"')
        payout_percent = AmountField(
            max_digits=6, decimal_places=3, max_value=100, required=False, help_text="Percent of the sale, 0-100"
        )
        currency = CurrencyField(required=False)
        protocol = serializers.ChoiceField(choices=Protocol.choices, default=Protocol.POSTBACK_TRANSACTION)
        connection = serializers.UUIDField(required=False, allow_null=True, help_text="Network connection code")
        offer_url = serializers.CharField(max_length=2000)
        ios_url = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default="", help_text="For clicks from iPhones and iPads"
        )
        android_url = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default="", help_text="For clicks from Android devices"
        )
        fallback_url = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        utm_medium = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        utm_campaign = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        utm_content = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        utm_term = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        allowed_domains = serializers.CharField(required=False, allow_blank=True, default="")
        starts_at = serializers.DateTimeField(required=False, allow_null=True)
        ends_at = serializers.DateTimeField(required=False, allow_null=True)
        allow_multiple_conversions = serializers.BooleanField(default=False)

    @extend_schema(request=InputSerializer, responses={201: OfferOutput, **errors(400, 422)})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["connection"] = get_for_input(
            request.workspace, NetworkConnection, data.get("connection"), field="connection"
        )
        offer = services.create_offer(workspace=request.workspace, **data)
        return Response(OfferOutput(offer).data, status=status.HTTP_201_CREATED)


class OfferDetailApi(WorkspaceApiView):
    @extend_schema(responses={200: OfferOutput, **errors(404)})
    def get(self, request, code):
        offer = get_in_workspace(request.workspace, Offer.objects.select_related("connection"), code=code)
        return Response(OfferOutput(offer).data)

    @extend_schema(
        request=OfferCreateApi.InputSerializer,
        responses={200: OfferOutput, **errors(400, 404, 422)},
        description="Change an offer: only the fields sent change, with the checks of the offer form.",
    )
    def patch(self, request, code):
        offer = get_in_workspace(request.workspace, Offer.objects.select_related("connection"), code=code)
        serializer = OfferCreateApi.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "connection" in data:
            data["connection"] = get_for_input(
                request.workspace, NetworkConnection, data["connection"], field="connection"
            )
        offer = services.update_offer(offer=offer, **data)
        return Response(OfferOutput(offer).data)


class OfferPauseApi(WorkspaceApiView):
    """Pause an offer: its clicks go to the fallback URL until it is resumed."""

    @extend_schema(request=None, responses={200: OfferOutput, **errors(404)}, operation_id="offers_pause")
    def post(self, request, code):
        offer = get_in_workspace(request.workspace, Offer.objects.select_related("connection"), code=code)
        return Response(OfferOutput(services.pause_offer(offer=offer)).data)


class OfferResumeApi(WorkspaceApiView):
    """Resume a paused offer (an archived one must be restored on the offer page first)."""

    @extend_schema(request=None, responses={200: OfferOutput, **errors(404, 422)}, operation_id="offers_resume")
    def post(self, request, code):
        offer = get_in_workspace(request.workspace, Offer.objects.select_related("connection"), code=code)
        return Response(OfferOutput(services.resume_offer(offer=offer)).data)


# --- Members ------------------------------------------------------------------


class MemberOutput(serializers.Serializer):
    code = serializers.UUIDField()
    affiliate_id = serializers.CharField()
    name = serializers.CharField()
    email = OptionalEmailField(read_only=True)
    handle = serializers.CharField()
    paypal_email = OptionalEmailField(read_only=True)
    project = CodeField(allow_null=True)
    status = serializers.CharField()
    is_test = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class MemberInput(JsonInput):
    name = serializers.CharField(max_length=120)
    email = OptionalEmailField()
    handle = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    paypal_email = OptionalEmailField()
    project = serializers.UUIDField(required=False, allow_null=True, help_text="Project code")
    is_test = serializers.BooleanField(default=False)


def _create_member(workspace, data: dict) -> Member:
    data = dict(data)
    data["project"] = get_for_input(workspace, Project, data.get("project"), field="project")
    return services.create_member(workspace=workspace, **data)


class MemberListApi(WorkspaceApiView):
    """The workspace's members, newest first."""

    class FilterSerializer(PageFilter):
        project = serializers.UUIDField(required=False, help_text="Project code")
        status = serializers.ChoiceField(choices=Member.Status.choices, required=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(MemberOutput, "MemberPage"), **errors(400, 422)},
        operation_id="members_list",
    )
    def get(self, request):
        data = read_query(self.FilterSerializer, request)
        qs = Member.objects.filter(workspace=request.workspace).select_related("project")
        if "project" in data:
            qs = qs.filter(project=get_for_input(request.workspace, Project, data["project"], field="project"))
        if "status" in data:
            qs = qs.filter(status=data["status"])
        return paginate(self, request, qs, MemberOutput)


class MemberCreateApi(WorkspaceApiView):
    @extend_schema(request=MemberInput, responses={201: MemberOutput, **errors(400, 422)})
    def post(self, request):
        serializer = MemberInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = _create_member(request.workspace, serializer.validated_data)
        return Response(MemberOutput(member).data, status=status.HTTP_201_CREATED)


BULK_LIMIT = 500


class MemberBulkCreateApi(WorkspaceApiView):
    """Create up to 500 members. The request is refused whole (400) when any item breaks the schema;
    otherwise each item succeeds or fails on its own (an unknown project, an email already in use).

    Answers 201 when at least one member was created, else 422; ``errors`` lists each failed
    item by its index with the reason.
    """

    @extend_schema_serializer(component_name="MemberBulkCreateInput")
    class InputSerializer(JsonInput):
        members = serializers.ListField(child=MemberInput(), min_length=1, max_length=BULK_LIMIT)

    OutputSerializer = inline_serializer(
        "MemberBulkResult",
        {
            "created": MemberOutput(many=True),
            "errors": inline_serializer(
                "MemberBulkError",
                {
                    "index": serializers.IntegerField(min_value=0),
                    "error": serializers.CharField(),
                    "fields": serializers.DictField(required=False),
                },
                many=True,
            ),
        },
    )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OpenApiResponse(OutputSerializer, description="Created what it could; `errors` lists the rest."),
            **errors(400),
            422: OpenApiResponse(OutputSerializer, description="Nothing was created; `errors` says why, by item."),
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created, failed = [], []
        for index, item in enumerate(serializer.validated_data["members"]):
            try:
                with transaction.atomic():
                    created.append(_create_member(request.workspace, item))
            except UnprocessableInput as exc:
                failed.append({"index": index, "error": INVALID, "fields": exc.detail})
            except DomainError as exc:
                failed.append({"index": index, "error": exc.message})
        body = {"created": MemberOutput(created, many=True).data, "errors": failed}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_422_UNPROCESSABLE_ENTITY)


class MemberDetailApi(WorkspaceApiView):
    @extend_schema(responses={200: MemberOutput, **errors(404)})
    def get(self, request, code):
        member = get_in_workspace(request.workspace, Member.objects.select_related("project"), code=code)
        return Response(MemberOutput(member).data)

    @extend_schema(
        request=MemberInput,
        responses={200: MemberOutput, **errors(400, 404, 422)},
        description="Change a member: only the fields sent change (an email another member uses is refused).",
    )
    def patch(self, request, code):
        member = get_in_workspace(request.workspace, Member.objects.select_related("project"), code=code)
        serializer = MemberInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "project" in data:
            data["project"] = get_for_input(request.workspace, Project, data["project"], field="project")
        member = services.update_member(member=member, **data)
        return Response(MemberOutput(member).data)


# --- Links --------------------------------------------------------------------


class LinkOutput(serializers.Serializer):
    code = serializers.CharField()
    url = serializers.SerializerMethodField()
    offer = CodeField()
    member = CodeField()
    vanity = serializers.CharField(allow_null=True)
    destination_url = serializers.CharField()
    sub1 = serializers.CharField()
    sub2 = serializers.CharField()
    sub3 = serializers.CharField()
    sub4 = serializers.CharField()
    sub5 = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_url(self, link) -> str:
        return services.link_url(link)


class LinkListApi(WorkspaceApiView):
    """The workspace's links, newest first, optionally for one offer or member."""

    class FilterSerializer(PageFilter):
        offer = serializers.UUIDField(required=False, help_text="Offer code")
        member = serializers.UUIDField(required=False, help_text="Member code")

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(LinkOutput, "LinkPage"), **errors(400, 422)},
        operation_id="links_list",
    )
    def get(self, request):
        data = read_query(self.FilterSerializer, request)
        qs = Link.objects.filter(workspace=request.workspace, archived_at=None).select_related("offer", "member")
        if "offer" in data:
            qs = qs.filter(offer=get_for_input(request.workspace, Offer, data["offer"], field="offer"))
        if "member" in data:
            qs = qs.filter(member=get_for_input(request.workspace, Member, data["member"], field="member"))
        return paginate(self, request, qs, LinkOutput)


class LinkCreateApi(WorkspaceApiView):
    """Give a member a link to an offer. A plain link the member already has is returned (200)."""

    @extend_schema_serializer(component_name="LinkCreateInput")
    class InputSerializer(JsonInput):
        offer = serializers.UUIDField(help_text="Offer code")
        member = serializers.UUIDField(help_text="Member code")
        destination_url = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        vanity = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
        sub1 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        sub2 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        sub3 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        sub4 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        sub5 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: LinkOutput, 201: LinkOutput, **errors(400, 422)})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        offer = get_for_input(request.workspace, Offer, data["offer"], field="offer")
        member = get_for_input(request.workspace, Member, data["member"], field="member")
        subs = {k: data[k] for k in ("sub1", "sub2", "sub3", "sub4", "sub5")}
        report = services.generate_links(
            offer=offer, members=[member], destination_url=data["destination_url"], vanity=data["vanity"], subs=subs
        )
        if report.created:
            return Response(LinkOutput(report.created[0]).data, status=status.HTTP_201_CREATED)
        existing = (
            Link.objects.filter(
                workspace=request.workspace,
                offer=offer,
                member=member,
                archived_at=None,
                destination_url="",
                vanity=None,
            )
            .filter(sub1="", sub2="", sub3="", sub4="", sub5="")
            .order_by("created_at")
            .first()
        )
        if existing is None:
            raise DomainError("This member is archived; restore them to create links.")
        return Response(LinkOutput(existing).data, status=status.HTTP_200_OK)
