"""REST API of the outbound app: the event log, so a client that was down can catch up."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from outbound import selectors
from outbound.models import TOPICS
from workspaces.api_common import PageFilter, WorkspaceApiView, paged, paginate, read_query
from workspaces.api_errors import errors


class EventOutput(serializers.Serializer):
    id = serializers.CharField(source="msg_id", help_text="The webhook-id header the event was sent with")
    type = serializers.CharField(source="topic")
    timestamp = serializers.DateTimeField(source="created_at")
    data = serializers.DictField(source="payload.data", help_text="The same data the webhook carries")


class EventListApi(WorkspaceApiView):
    """Everything webhooks send (conversions, payments, settlements, syncs, connections, alerts), by cursor."""

    class FilterSerializer(PageFilter):
        type = serializers.ChoiceField(choices=list(TOPICS), required=False, help_text="Only events of this type")
        order = serializers.ChoiceField(
            choices=["newest", "oldest"],
            required=False,
            default="newest",
            help_text="newest first (default), or oldest first to replay in order",
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: paged(EventOutput, "EventPage"), **errors(400, 422)},
        operation_id="events_list",
    )
    def get(self, request):
        data = read_query(self.FilterSerializer, request)
        qs = selectors.list_events(workspace=request.workspace, topic=data.get("type", ""))
        ordering = ("created_at", "id") if data["order"] == "oldest" else ("-created_at", "-id")
        return paginate(self, request, qs, EventOutput, ordering=ordering)
