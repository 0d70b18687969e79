"""A test client routed like production (config/wsgi.py).

Clicks, postbacks and pixels go to tracking/endpoints.py's WSGI application, what it
leaves of the public paths to a handler with PUBLIC_MIDDLEWARE, the rest to the full site;
so every test of those endpoints runs through what production runs them through.
"""

from contextlib import contextmanager

from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler

from config.handlers import PublicMiddlewareMixin
from tracking.endpoints import PublicEndpoints, route
from workspaces.public_paths import is_public


@contextmanager
def transaction_kept_across_requests():
    """Like ClientHandler: a test's transaction must survive the request signals a handler sends."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class PublicClientHandler(PublicMiddlewareMixin, ClientHandler):
    pass


class EndpointsClientHandler:
    """Runs PublicEndpoints and gives the client an HttpResponse, as ClientHandler does."""

    def __init__(self):
        self.app = PublicEndpoints()

    def __call__(self, environ, match):
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        with transaction_kept_across_requests():
            answer = self.app.respond(environ, start_response, match)
        if answer is None:
            return None
        body = b"".join(answer)
        response = HttpResponse(body, status=int(captured["status"].split(" ", 1)[0]))
        for name, value in captured["headers"]:
            response[name] = value
        if response.has_header("Location"):
            response.url = response["Location"]  # as on HttpResponseRedirect
        response.wsgi_request = WSGIRequest(environ)
        return response


class SplitClientHandler:
    def __init__(self, site: ClientHandler, public: ClientHandler):
        self.site = site
        self.public = public
        self.endpoints = EndpointsClientHandler()

    def __call__(self, environ):
        if not is_public(environ.get("PATH_INFO", "")):
            return self.site(environ)
        match = route(environ)
        if match is not None:
            response = self.endpoints(environ, match)
            if response is not None:
                return response
        return self.public(environ)


class SiteClient(Client):
    def __init__(self, enforce_csrf_checks=False, raise_request_exception=True, **defaults):
        super().__init__(enforce_csrf_checks, raise_request_exception, **defaults)
        self.handler = SplitClientHandler(self.handler, PublicClientHandler(enforce_csrf_checks))
