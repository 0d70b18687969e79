"""The workspace of the API key, and the API's answer to every other path."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from workspaces.api_common import WorkspaceApiView
from workspaces.api_errors import NOT_FOUND


class WorkspaceDetailApi(WorkspaceApiView):
    """The workspace this API key belongs to."""

    class OutputSerializer(serializers.Serializer):
        code = serializers.UUIDField()
        slug = serializers.SlugField()
        name = serializers.CharField()
        currency = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer(request.workspace).data)


class NotFoundApi(WorkspaceApiView):
    """Every other path under /api/v1/ (a malformed code, say): the key is checked as
    everywhere else, then the API's own 404 instead of Django's HTML page."""

    schema = None  # not an operation of the API

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound(NOT_FOUND)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # No such resource, so no methods to list: DRF would name this view's own.
        del response["Allow"]
        return response
