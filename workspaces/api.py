from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces.api_auth import ApiKeyThrottle


class WorkspaceDetailApi(APIView):
    """The workspace this API key belongs to."""

    throttle_classes = [ApiKeyThrottle]

    class OutputSerializer(serializers.Serializer):
        code = serializers.UUIDField()
        slug = serializers.SlugField()
        name = serializers.CharField()
        currency = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer(request.workspace).data)
