"""GET|POST /postback/<network>/<secret> and GET /pixel/<secret>.gif as a plain WSGI application.

Networks call the postback URL once for every conversion and every change to one,
and thank-you pages fire the pixel once per sale; the work behind each is one
lookup and one write (tracking/ingest.py). Django's handler around that work (URL
resolution, middleware, view decorators, response objects) costs more CPU than
the lookup itself, so config/handlers.py routes these two URL shapes here for the
methods they accept. Anything else on those paths (HEAD, PUT, a malformed secret)
goes to Django, which answers 405 or 404 as before.

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
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest

from tracking.ingest import PIXEL_GIF, answer_headers, answer_pixel, answer_postback, read_hit
from workspaces.public_paths import NO_CACHE_HEADERS, PIXEL_PATH, POSTBACK_PATH, security_headers

request_logger = logging.getLogger("django.request")
host_logger = logging.getLogger("django.security.DisallowedHost")

# The same expressions tracking/urls.py gives Django, with the leading slash.
POSTBACK_ROUTE = re.compile(f"/{POSTBACK_PATH}")
PIXEL_ROUTE = re.compile(f"/{PIXEL_PATH}")
NEVER_CACHE = list(NO_CACHE_HEADERS.items())


def route(environ) -> re.Match | None:
    """The match for a request this application answers, or None (Django answers it)."""
    path = environ.get("PATH_INFO", "")
    match = POSTBACK_ROUTE.fullmatch(path) or PIXEL_ROUTE.fullmatch(path)
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


class ConversionEndpoints:
    """The WSGI application for postbacks and pixels (requests route() matches)."""

    def __call__(self, environ, start_response):
        match = route(environ)
        if match is None:
            raise LookupError(f"not a postback or pixel request: {environ.get('PATH_INFO', '')!r}")
        return self.respond(environ, start_response, match)

    def respond(self, environ, start_response, match: re.Match):
        """Answer a request whose route() ``match`` the caller already has (the dispatcher does)."""
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            request = WSGIRequest(environ)
            status, body, content_type, extra = self._answer(request, match)
            headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
            headers += extra + NEVER_CACHE + security_headers(request)
        finally:
            signals.request_finished.send(sender=self.__class__)
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    def _answer(self, request, match) -> tuple[int, bytes, str, list]:
        text = "text/plain; charset=utf-8"
        try:
            request.get_host()
        except DisallowedHost as exc:
            host_logger.error(str(exc), extra={"status_code": 400, "request": request})
            return 400, b"bad request: host not allowed", text, []
        user_agent = request.META.get("HTTP_USER_AGENT")
        if user_agent is not None and any(p.search(user_agent) for p in settings.DISALLOWED_USER_AGENTS):
            return 403, b"forbidden", text, []
        try:
            if match.re is PIXEL_ROUTE:
                answer_pixel(read_hit(request), match["secret"])
                # Always the image: a browser on a thank-you page has no use for our verdict.
                return 200, PIXEL_GIF, "image/gif", []
            status, answer = answer_postback(read_hit(request), match["network"], match["secret"])
        except Exception:
            signals.got_request_exception.send(sender=self.__class__, request=request)
            request_logger.error(
                "Internal Server Error: %s", request.path, exc_info=True, extra={"status_code": 500, "request": request}
            )
            return 500, b"server error", text, []
        return status, answer.encode(), text, answer_headers(status)
