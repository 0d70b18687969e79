"""GET /c/<code>, GET|POST /postback/<network>/<secret> and GET /pixel/<secret>.gif as a plain WSGI application.

Visitors click links, networks call the postback URL once for every conversion and
every change to one, and thank-you pages fire the pixel once per sale; the work behind
each is a lookup and one write (tracking/clicks/, tracking/ingest.py). Django's handler
around that work (URL resolution, middleware, view decorators) costs more CPU than the
lookup itself, so config/handlers.py routes these URL shapes here for the methods
they accept. Anything else on those paths (HEAD, PUT, a malformed secret) goes to
Django, which answers 405 or 404 as before; so does a click on a link that does not
exist (``respond`` returns None and the caller hands the request to Django, which
renders the 404 page).

What the handler and the public middleware would still do is done here:
- request_started / request_finished are sent (they keep database connections healthy);
- the Host header is checked against ALLOWED_HOSTS as request.get_host() checks it;
- DISALLOWED_USER_AGENTS are refused;
- the security headers (nosniff, referrer and opener policies, HSTS on HTTPS, frame
  options) and never-cache headers are sent;
- an unexpected error is logged on ``django.request`` and signalled as Django does,
  and answered with a 500. (The database being away is expected: the pipeline spools
  the hit and answers 503.)
tests/test_endpoints.py holds the answers and headers equal to Django's for the
same requests, and the test client routes every postback and pixel test here.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost, SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest

from tracking.ingest import PIXEL_GIF, answer_headers, answer_pixel, answer_postback, read_hit
from tracking.public_views import click_redirect
from workspaces.public_paths import CLICK_PATH, NO_CACHE_HEADERS, PIXEL_PATH, POSTBACK_PATH, security_headers

request_logger = logging.getLogger("django.request")
host_logger = logging.getLogger("django.security.DisallowedHost")

# The same expressions tracking/urls.py gives Django, with the leading slash.
POSTBACK_ROUTE = re.compile(f"/{POSTBACK_PATH}")
PIXEL_ROUTE = re.compile(f"/{PIXEL_PATH}")
CLICK_ROUTE = re.compile(f"/{CLICK_PATH}")
NEVER_CACHE = list(NO_CACHE_HEADERS.items())


def route(environ) -> re.Match | None:
    """The match for a request this application answers, or None (Django answers it)."""
    path = environ.get("PATH_INFO", "")
    match = POSTBACK_ROUTE.fullmatch(path) or PIXEL_ROUTE.fullmatch(path) or CLICK_ROUTE.fullmatch(path)
    if match is None:
        return None
    method = environ.get("REQUEST_METHOD", "")
    if not (method == "GET" or (method == "POST" and match.re is POSTBACK_ROUTE)):
        return None
    if settings.PREPEND_WWW or (settings.SECURE_SSL_REDIRECT and not _redirect_exempt(path)):
        # Django's middleware may redirect these; let it decide.
        return None
    return match


def _redirect_exempt(path: str) -> bool:
    return any(re.search(pattern, path.lstrip("/")) for pattern in settings.SECURE_REDIRECT_EXEMPT)


class PublicEndpoints:
    """The WSGI application for clicks, postbacks and pixels (requests route() matches)."""

    def __call__(self, environ, start_response):
        match = route(environ)
        if match is None:
            raise LookupError(f"not a click, postback or pixel request: {environ.get('PATH_INFO', '')!r}")
        return self.respond(environ, start_response, match)

    def respond(self, environ, start_response, match: re.Match):
        """Answer a request whose route() ``match`` the caller already has (the dispatcher does).

        None (start_response not called) for a click on a link that does not exist: the
        caller lets Django answer it.
        """
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            request = WSGIRequest(environ)
            answer = self._answer(request, match)
            if answer is None:
                return None
            status, body, headers = answer
            headers += security_headers(request)
        finally:
            signals.request_finished.send(sender=self.__class__)
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    def _answer(self, request, match) -> tuple[int, bytes, list] | None:
        refused = self._refusal(request)
        if refused is not None:
            return _plain(*refused)
        try:
            if match.re is CLICK_ROUTE:
                return self._click(request, match["code"])
            if match.re is PIXEL_ROUTE:
                answer_pixel(read_hit(request), match["secret"])
                # Always the image: a browser on a thank-you page has no use for our verdict.
                return (
                    200,
                    PIXEL_GIF,
                    [("Content-Type", "image/gif"), ("Content-Length", str(len(PIXEL_GIF))), *NEVER_CACHE],
                )
            status, answer = answer_postback(read_hit(request), match["network"], match["secret"])
        except SuspiciousOperation as exc:
            # As Django's handler answers one (e.g. a redirect to a scheme it refuses).
            logging.getLogger(f"django.security.{exc.__class__.__name__}").error(
                str(exc), extra={"status_code": 400, "request": request}
            )
            return _plain(400, b"bad request")
        except Exception:
            signals.got_request_exception.send(sender=self.__class__, request=request)
            request_logger.error(
                "Internal Server Error: %s", request.path, exc_info=True, extra={"status_code": 500, "request": request}
            )
            return _plain(500, b"server error")
        status, body, headers = _plain(status, answer.encode())
        return status, body, headers + answer_headers(status)

    def _click(self, request, code) -> tuple[int, bytes, list] | None:
        response = click_redirect(request, code)
        if response is None:
            return None
        body = response.content
        return response.status_code, body, [*response.items(), ("Content-Length", str(len(body)))]

    def _refusal(self, request) -> tuple[int, bytes] | None:
        """The answer to a request the host or user-agent checks refuse, else None."""
        try:
            request.get_host()
        except DisallowedHost as exc:
            host_logger.error(str(exc), extra={"status_code": 400, "request": request})
            return 400, b"bad request: host not allowed"
        user_agent = request.META.get("HTTP_USER_AGENT")
        if user_agent is not None and any(p.search(user_agent) for p in settings.DISALLOWED_USER_AGENTS):
            return 403, b"forbidden"
        return None


def _plain(status: int, body: bytes) -> tuple[int, bytes, list]:
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), *NEVER_CACHE]
    return status, body, headers
