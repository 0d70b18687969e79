"""The Content-Security-Policy header of every page the site serves.

Pages load scripts, styles, images and fonts from our own origin only and run no
inline code: behaviour lives in static/app/*.js, which reads its data from data-
attributes or <script type="application/json"> blocks; htmx is configured (a meta tag
in base.html) to inject no styles, evaluate nothing and run no swapped-in scripts.

The policy is ``settings.SECURE_CSP``, a dict of directive -> sources, sent as
``Content-Security-Policy``; ``settings.SECURE_CSP_REPORT_ONLY`` (same shape) is sent
as ``Content-Security-Policy-Report-Only`` to try a change out before enforcing it.
(Django 6.0 has the same two settings and its own middleware; this one stands in on 5.2.)
A view may send its own policy by setting the header itself.
"""

from django.conf import settings

HEADER = "Content-Security-Policy"
REPORT_ONLY_HEADER = "Content-Security-Policy-Report-Only"


def build_policy(directives: dict) -> str:
    """``{"default-src": ["'self'"], "upgrade-insecure-requests": True}`` as a header value."""
    parts = []
    for name, sources in directives.items():
        if sources is True:
            parts.append(name)
        elif sources:
            parts.append(" ".join([name, *sources]))
    return "; ".join(parts)


def policy_header() -> str:
    return build_policy(settings.SECURE_CSP)


def add_policy(response):
    """Put the policies on ``response`` unless the view set its own."""
    if settings.SECURE_CSP and HEADER not in response:
        response[HEADER] = policy_header()
    if settings.SECURE_CSP_REPORT_ONLY and REPORT_ONLY_HEADER not in response:
        response[REPORT_ONLY_HEADER] = build_policy(settings.SECURE_CSP_REPORT_ONLY)
    return response


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return add_policy(self.get_response(request))
