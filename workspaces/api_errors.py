"""Error bodies of the API: always ``{"error": "...", "fields": {...}}``."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workspaces.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"error": exc.message}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": "Invalid input.", "fields": response.data}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response
