"""The portal sits on top: it reads tracking and payments; nothing below imports it."""

import pytest

from tests.reports.test_import_direction import imported_modules


@pytest.mark.parametrize("app", ["workspaces", "offers", "tracking", "networks", "payments", "reports"])
def test_the_apps_below_the_portal_never_import_it(app):
    assert not {m for m in imported_modules(app) if m == "portal" or m.startswith("portal.")}


def test_the_portal_reads_tracking_and_payments():
    modules = imported_modules("portal")
    assert "tracking.models" in modules and "payments.selectors" in modules
