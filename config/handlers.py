"""The WSGI entry point's request paths: the full site, and the public machine endpoints.

Click redirects (/c/), postbacks (/postback/) and pixels (/pixel/) are called by
visitors' browsers and by networks' servers, thousands of times for every page a
person opens. None of them uses a session, a login, messages, CSRF or the workspace
switcher, yet the full middleware stack costs a postback about a third of its CPU.
Their everyday requests (a click on a link that exists, a postback, a pixel) are
answered by a plain WSGI application (tracking/endpoints.py) that keeps what Django's
handler and the public middleware would add. What it leaves (HEAD, other methods, an
unknown link's 404 page) goes through a Django handler with PUBLIC_MIDDLEWARE instead
of the full stack (security headers, host and user-agent checks, frame options: what
still applies to them). The paths themselves are
defined in workspaces/public_paths.py; tests/test_public_handler.py holds the short
handler's answers to the full one's.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

from tracking.endpoints import route
from workspaces.public_paths import is_public


class PublicMiddlewareMixin:
    """For a Django handler: load settings.PUBLIC_MIDDLEWARE in place of settings.MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        if is_async:
            raise ImproperlyConfigured("the public endpoints are served over WSGI only")
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.PUBLIC_MIDDLEWARE):
            middleware = import_string(path)(handler)
            # The hooks are registered as Django registers them for the full stack.
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


class PublicEndpointHandler(PublicMiddlewareMixin, WSGIHandler):
    """Django's WSGI handler with the public endpoints' middleware."""


class SplitApplication:
    """The WSGI entry point: clicks, postbacks and pixels to ``endpoints``, what it leaves
    of the public paths (is_public) to ``public``, everything else to ``site``."""

    def __init__(self, site, public, endpoints):
        self.site = site
        self.public = public
        self.endpoints = endpoints

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not is_public(path):
            return self.site(environ, start_response)
        match = route(environ)
        if match is not None:
            answer = self.endpoints.respond(environ, start_response, match)
            if answer is not None:
                return answer
        return self.public(environ, start_response)
