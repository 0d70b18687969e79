import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_wsgi_application()  # sets Django up; the imports below need it

from config.handlers import PublicEndpointHandler, SplitApplication  # noqa: E402

# Clicks, postbacks and pixels take the short middleware path (config/handlers.py).
application = SplitApplication(site, PublicEndpointHandler())
