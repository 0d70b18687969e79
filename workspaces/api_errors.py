"""Error bodies of the API: always ``{"error": "...", "fields": {...}}``."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from workspaces.api_auth import ApiKeyThrottle
from workspaces.errors import DomainError

NOT_FOUND = "Not found."


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"error": exc.message}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": "Invalid input.", "fields": response.data}
    elif response.status_code == status.HTTP_404_NOT_FOUND:
        # One body for every miss: an unknown code, another workspace's, a malformed one, no such path.
        response.data = {"error": NOT_FOUND}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response


class NotFoundApi(APIView):
    """Every other path under /api/v1/ (a malformed code, say): the key is checked as
    everywhere else, then the API's own 404 instead of Django's HTML page."""

    throttle_classes = [ApiKeyThrottle]
    schema = None  # not an operation of the API

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound(NOT_FOUND)
