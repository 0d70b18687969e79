"""The click redirect, GET /c/<code>: the hot path every shared link goes through.

One query finds the link (or none for malformed codes, which the URL converter
rejects), the click is recorded (buffered in Redis or inserted), and the visitor
gets a 302 that no cache may keep.
"""

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.csp import add_policy
from tracking import clicks


class LinkCodeConverter:
    """A link code ([A-Za-z0-9]{8}) or a vanity slug; anything else never reaches the view."""

    regex = r"[A-Za-z0-9]{8}|[a-z0-9][a-z0-9-]{2,49}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def _not_found(request):
    response = render(request, "tracking/click_404.html", status=404)
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = NO_CACHE_HEADERS["Cache-Control"]
    # The one page of the public paths, which run without the policy's middleware.
    return add_policy(response)


# What never_cache would add, written once: a click redirect must never be served from a cache.
NO_CACHE_HEADERS = {
    "Cache-Control": "max-age=0, no-cache, no-store, must-revalidate, private",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
    "X-Robots-Tag": "noindex, nofollow",
}


def _redirect(url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(url, headers=NO_CACHE_HEADERS)


@require_safe
def click(request, code):
    link = clicks.find_link(code)
    if link is None:
        return _not_found(request)
    # Most clicks carry no query string: skip building a QueryDict for them.
    query = request.GET if request.META.get("QUERY_STRING") else {}
    recorded = clicks.record_click(
        link=link,
        visitor=clicks.visitor_from_request(request),
        deep_url=query.get("url"),
        subs=clicks.clean_subs(query),
    )
    return _redirect(recorded.destination)


@never_cache
def click_not_found(request, anything=""):
    """Malformed /c/ paths: the same helpful 404, without touching the database."""
    return _not_found(request)


@never_cache
def bench_redirect(request):
    """A bare 302 for `make bench` to compare the click path against (BENCH_ENDPOINTS=true only)."""
    if not settings.BENCH_ENDPOINTS:
        raise Http404
    return _redirect("https://shop.example/landing?utm_source=bench")
