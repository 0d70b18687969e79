"""A test client routed like production: public endpoint paths take the short middleware path.

config/wsgi.py hands /c/, /postback/ and /pixel/ to a handler with PUBLIC_MIDDLEWARE;
this client does the same with Django's test handler, so every test of those
endpoints runs through the middleware production runs them through.
"""

from django.test import Client
from django.test.client import ClientHandler

from config.handlers import PublicMiddlewareMixin, is_public


class PublicClientHandler(PublicMiddlewareMixin, ClientHandler):
    pass


class SplitClientHandler:
    def __init__(self, site: ClientHandler, public: ClientHandler):
        self.site = site
        self.public = public

    def __call__(self, environ):
        handler = self.public if is_public(environ.get("PATH_INFO", "")) else self.site
        return handler(environ)


class SiteClient(Client):
    def __init__(self, enforce_csrf_checks=False, raise_request_exception=True, **defaults):
        super().__init__(enforce_csrf_checks, raise_request_exception, **defaults)
        self.handler = SplitClientHandler(self.handler, PublicClientHandler(enforce_csrf_checks))
