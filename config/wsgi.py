import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_wsgi_application()  # sets Django up; the imports below need it

from config.handlers import PublicEndpointHandler, SplitApplication  # noqa: E402
from tracking.endpoints import PublicEndpoints  # noqa: E402

# Clicks take the short middleware path, postbacks and pixels a plain WSGI application
# (config/handlers.py); everything else is the full site.
application = SplitApplication(site, PublicEndpointHandler(), PublicEndpoints())
