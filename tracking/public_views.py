"""The public views: the click redirect, postbacks and pixels, as Django serves them.

Visitors' browsers and networks' servers call these paths (workspaces/public_paths.py);
config/handlers.py serves them with the short middleware list. Every redirect comes
through here. Postbacks and pixels usually do not: the plain WSGI application in
tracking/endpoints.py answers their everyday traffic, and Django reaches these views for
what it leaves over (other methods, 405). Both call the same pipeline
(tracking/ingest.py), so the answers are the same.

- ``click``: GET /c/<code>. One query finds the link (none for a link clicked in the
  last seconds, tracking/clicks/recording.py), the click is recorded (buffered in Redis
  or inserted; spooled when neither store answers), and the visitor gets a 302 that no
  cache may keep. Only a link unknown to this process while the database is away gets
  a 503.
- ``click_not_found``: malformed /c/ paths, the helpful 404 page without a query.
- ``postback``, ``pixel``: GET|POST /postback/<network>/<secret>, GET /pixel/<secret>.gif.
- ``bench_redirect``: a bare 302 for the benchmark, off unless BENCH_ENDPOINTS.
"""

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from config.csp import add_policy
from tracking.clicks.recording import clean_subs, find_link, record_click, visitor_from_request
from tracking.ingest import (
    PIXEL_GIF,
    RETRY_AFTER_SECONDS,
    UNAVAILABLE,
    answer_headers,
    answer_pixel,
    answer_postback,
    read_hit,
)
from tracking.spool import DATABASE_DOWN
from workspaces.domains import workspace_of_host
from workspaces.public_paths import CLICK_NOT_FOUND_HEADERS, CLICK_REDIRECT_HEADERS

CLICK_UNAVAILABLE_HEADERS = {
    **CLICK_REDIRECT_HEADERS,
    "Content-Type": "text/plain; charset=utf-8",
    "Retry-After": str(RETRY_AFTER_SECONDS),
}


@require_safe
def click(request, code):
    return click_redirect(request, code) or _click_not_found_page(request)


def click_redirect(request, code) -> HttpResponse | None:
    """Record the click on link ``code`` and redirect the visitor; None when there is no such link.

    The GET requests of the click path are answered with this by the plain WSGI
    application (tracking/endpoints.py); HEAD requests and unknown codes by the view above.
    """
    try:
        link = find_link(code)
    except DATABASE_DOWN:
        # A link this process has not seen, and no database to ask: the visitor may retry.
        return HttpResponse(UNAVAILABLE, status=503, headers=CLICK_UNAVAILABLE_HEADERS)
    if link is None:
        return None
    owner = workspace_of_host(request.META.get("HTTP_HOST", ""))
    if owner is not None and owner != link.workspace_id:
        return None  # a workspace's own domain serves only its links
    # Most clicks carry no query string: skip building a QueryDict for them.
    query = request.GET if request.META.get("QUERY_STRING") else {}
    recorded = record_click(
        link=link,
        visitor=visitor_from_request(request),
        deep_url=query.get("url"),
        subs=clean_subs(query),
    )
    return HttpResponseRedirect(recorded.destination, headers=CLICK_REDIRECT_HEADERS)


@never_cache
def click_not_found(request, anything=""):
    """Malformed /c/ paths: the same helpful 404, without touching the database."""
    return _click_not_found_page(request)


def _click_not_found_page(request):
    response = render(request, "tracking/click_404.html", status=404)
    for name, value in CLICK_NOT_FOUND_HEADERS.items():
        response[name] = value
    # The one page of the public paths, which run without the policy's middleware.
    return add_policy(response)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def postback(request, network: str, secret: str):
    status, answer = answer_postback(read_hit(request), network, secret)
    response = HttpResponse(answer, status=status, content_type="text/plain; charset=utf-8")
    for name, value in answer_headers(status):
        response[name] = value
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET"])
def pixel(request, secret: str):
    answer_pixel(read_hit(request), secret)
    # Always the image: a browser on a thank-you page has no use for our verdict.
    return HttpResponse(PIXEL_GIF, content_type="image/gif")


@never_cache
def bench_redirect(request):
    """A bare 302 for `make bench` to compare the click path against (BENCH_ENDPOINTS=true only)."""
    if not settings.BENCH_ENDPOINTS:
        raise Http404
    return HttpResponseRedirect("https://shop.example/landing?utm_source=bench", headers=CLICK_REDIRECT_HEADERS)
