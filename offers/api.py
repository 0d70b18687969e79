"""REST API for offers, members and links (``/api/v1/``), authenticated by workspace API keys."""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from offers import services
from offers.models import ConversionType, Link, Member, NetworkConnection, Offer, PayoutType, Project, Protocol
from workspaces.access import get_in_workspace
from workspaces.api_auth import ApiKeyThrottle
from workspaces.errors import DomainError

ERROR = inline_serializer("Error", {"error": serializers.CharField(), "fields": serializers.DictField(required=False)})
ERRORS = {400: ERROR, 401: ERROR, 404: ERROR, 429: ERROR}


class ApiCursorPagination(CursorPagination):
    """Newest first, ``?limit=`` up to 200, opaque ``cursor`` links in ``next``/``previous``."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-created_at", "-id")


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


def resolve(workspace, model, code, field: str):
    """A code from a payload, looked up in the workspace only: anything else is "not found" (400)."""
    if code is None:
        return None
    obj = model.objects.filter(workspace=workspace, code=code).first()
    if obj is None:
        raise serializers.ValidationError({field: ["Not found."]})
    return obj


@extend_schema_field(OpenApiTypes.UUID)
class CodeField(serializers.SlugRelatedField):
    """Shows a related object by its public code (never its database id)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", read_only=True, **kwargs)


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


class OfferListApi(APIView):
    """The workspace's offers, newest first."""

    throttle_classes = [ApiKeyThrottle]

    class FilterSerializer(serializers.Serializer):
        archived = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(OfferOutput, "OfferPage"), **ERRORS},
        operation_id="offers_list",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = Offer.objects.filter(workspace=request.workspace).select_related("connection")
        archived = filters.validated_data.get("archived")
        if archived is not None:
            qs = qs.filter(archived_at__isnull=not archived)
        return paginate(self, request, qs, OfferOutput)


class OfferCreateApi(APIView):
    """Create a Link Tracking Offer."""

    throttle_classes = [ApiKeyThrottle]

    @extend_schema_serializer(component_name="OfferCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        conversion_type = serializers.ChoiceField(choices=ConversionType.choices, default=ConversionType.SALE)
        payout_type = serializers.ChoiceField(choices=PayoutType.choices)
        payout_flat = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)
        payout_percent = serializers.DecimalField(
            max_digits=6, decimal_places=3, required=False, min_value=0, max_value=100
        )
        currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
        protocol = serializers.ChoiceField(choices=Protocol.choices, default=Protocol.POSTBACK_TRANSACTION)
        connection = serializers.UUIDField(required=False, allow_null=True, help_text="Network connection code")
        offer_url = serializers.CharField(max_length=2000)
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

    @extend_schema(request=InputSerializer, responses={201: OfferOutput, **ERRORS})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["connection"] = resolve(request.workspace, NetworkConnection, data.get("connection"), "connection")
        offer = services.create_offer(workspace=request.workspace, **data)
        return Response(OfferOutput(offer).data, status=status.HTTP_201_CREATED)


class OfferDetailApi(APIView):
    throttle_classes = [ApiKeyThrottle]

    @extend_schema(responses={200: OfferOutput, **ERRORS})
    def get(self, request, code):
        offer = get_in_workspace(request.workspace, Offer.objects.select_related("connection"), code=code)
        return Response(OfferOutput(offer).data)


# --- Members ------------------------------------------------------------------


class MemberOutput(serializers.Serializer):
    code = serializers.UUIDField()
    affiliate_id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()
    handle = serializers.CharField()
    paypal_email = serializers.EmailField()
    project = CodeField(allow_null=True)
    status = serializers.CharField()
    is_test = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class MemberInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    handle = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    paypal_email = serializers.EmailField(required=False, allow_blank=True, default="")
    project = serializers.UUIDField(required=False, allow_null=True, help_text="Project code")
    is_test = serializers.BooleanField(default=False)


def _create_member(workspace, data: dict) -> Member:
    data = dict(data)
    data["project"] = resolve(workspace, Project, data.get("project"), "project")
    return services.create_member(workspace=workspace, **data)


class MemberListApi(APIView):
    """The workspace's members, newest first."""

    throttle_classes = [ApiKeyThrottle]

    class FilterSerializer(serializers.Serializer):
        project = serializers.UUIDField(required=False, help_text="Project code")
        status = serializers.ChoiceField(choices=Member.Status.choices, required=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(MemberOutput, "MemberPage"), **ERRORS},
        operation_id="members_list",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = Member.objects.filter(workspace=request.workspace).select_related("project")
        data = filters.validated_data
        if "project" in data:
            qs = qs.filter(project=resolve(request.workspace, Project, data["project"], "project"))
        if "status" in data:
            qs = qs.filter(status=data["status"])
        return paginate(self, request, qs, MemberOutput)


class MemberCreateApi(APIView):
    throttle_classes = [ApiKeyThrottle]

    @extend_schema(request=MemberInput, responses={201: MemberOutput, **ERRORS})
    def post(self, request):
        serializer = MemberInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = _create_member(request.workspace, serializer.validated_data)
        return Response(MemberOutput(member).data, status=status.HTTP_201_CREATED)


BULK_LIMIT = 500


class MemberBulkCreateApi(APIView):
    """Create up to 500 members; each item succeeds or fails on its own.

    Answers 201 when at least one member was created, else 400; ``errors`` lists
    each failed item by its index with the reason.
    """

    throttle_classes = [ApiKeyThrottle]

    @extend_schema_serializer(component_name="MemberBulkCreateInput")
    class InputSerializer(serializers.Serializer):
        members = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=BULK_LIMIT)

    OutputSerializer = inline_serializer(
        "MemberBulkResult",
        {
            "created": MemberOutput(many=True),
            "errors": inline_serializer(
                "MemberBulkError",
                {
                    "index": serializers.IntegerField(),
                    "error": serializers.CharField(),
                    "fields": serializers.DictField(required=False),
                },
                many=True,
            ),
        },
    )

    @extend_schema(
        request=inline_serializer("MemberBulkInput", {"members": MemberInput(many=True)}),
        responses={201: OutputSerializer, 400: OpenApiResponse(OutputSerializer), 401: ERROR, 429: ERROR},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created, errors = [], []
        for index, item in enumerate(serializer.validated_data["members"]):
            one = MemberInput(data=item)
            if not one.is_valid():
                errors.append({"index": index, "error": "Invalid input.", "fields": one.errors})
                continue
            try:
                with transaction.atomic():
                    created.append(_create_member(request.workspace, one.validated_data))
            except serializers.ValidationError as exc:
                errors.append({"index": index, "error": "Invalid input.", "fields": exc.detail})
            except DomainError as exc:
                errors.append({"index": index, "error": exc.message})
        body = {"created": MemberOutput(created, many=True).data, "errors": errors}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_400_BAD_REQUEST)


class MemberDetailApi(APIView):
    throttle_classes = [ApiKeyThrottle]

    @extend_schema(responses={200: MemberOutput, **ERRORS})
    def get(self, request, code):
        member = get_in_workspace(request.workspace, Member.objects.select_related("project"), code=code)
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


class LinkListApi(APIView):
    """The workspace's links, newest first, optionally for one offer or member."""

    throttle_classes = [ApiKeyThrottle]

    class FilterSerializer(serializers.Serializer):
        offer = serializers.UUIDField(required=False, help_text="Offer code")
        member = serializers.UUIDField(required=False, help_text="Member code")

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(LinkOutput, "LinkPage"), **ERRORS},
        operation_id="links_list",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        qs = Link.objects.filter(workspace=request.workspace, archived_at=None).select_related("offer", "member")
        if "offer" in data:
            qs = qs.filter(offer=resolve(request.workspace, Offer, data["offer"], "offer"))
        if "member" in data:
            qs = qs.filter(member=resolve(request.workspace, Member, data["member"], "member"))
        return paginate(self, request, qs, LinkOutput)


class LinkCreateApi(APIView):
    """Give a member a link to an offer. A plain link the member already has is returned (200)."""

    throttle_classes = [ApiKeyThrottle]

    @extend_schema_serializer(component_name="LinkCreateInput")
    class InputSerializer(serializers.Serializer):
        offer = serializers.UUIDField(help_text="Offer code")
        member = serializers.UUIDField(help_text="Member code")
        destination_url = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        vanity = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
        sub1 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        sub2 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        sub3 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        sub4 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        sub5 = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: LinkOutput, 201: LinkOutput, **ERRORS})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        offer = resolve(request.workspace, Offer, data["offer"], "offer")
        member = resolve(request.workspace, Member, data["member"], "member")
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
