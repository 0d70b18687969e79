"""The hub's own "page not found" under DEBUG too.

With DEBUG on (``make run``) Django answers a missing page with its technical 404, which
lists every URL pattern of the site; people trying the hub should meet the page production
shows. A view's Http404 is caught here first; an address no URL matches is recognised by
Django's technical page and replaced. 500s keep Django's debug page under DEBUG (the
developer needs the traceback); production renders templates/500.html.
"""

from django.conf import settings
from django.http import Http404
from django.views.defaults import page_not_found

# The start of the title of Django's technical 404 page (django/views/templates/technical_404.html).
TECHNICAL_404 = b"<title>Page not found at"


class NotFoundPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404 and TECHNICAL_404 in response.content[:1000]:
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
