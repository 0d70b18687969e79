"""The fastest Django can answer: one view that returns a 302, no middleware, no database.

`make bench` serves this module under each candidate server (granian WSGI, gunicorn sync)
as the reference every project path is compared with. It is a whole Django project in one
module: ``DJANGO_SETTINGS_MODULE=bench.bare_site`` and ``bench.bare_site:application``.
"""

import os

from django.core.wsgi import get_wsgi_application
from django.http import HttpResponseRedirect
from django.urls import path

DEBUG = False
SECRET_KEY = "bench-bare-site-" + os.environ.get("BENCH_BARE_SECRET", "not-secret-no-sessions-or-signing-here")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
MIDDLEWARE: list[str] = []
INSTALLED_APPS: list[str] = []
DATABASES: dict = {}
USE_TZ = True
LOGGING_CONFIG = None


def redirect(request):
    return HttpResponseRedirect("https://brand.example/landing")


urlpatterns = [path("bench/302", redirect)]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
application = get_wsgi_application()
