"""The abuse suite runs against the web UI's app (account Acme, VA Lab) unless a module
brings its own fixtures (the device protocol's)."""

from tests.web.conftest import bearer, client, make_client
from tests.web.ui.conftest import admin, app, browser

__all__ = ["admin", "app", "bearer", "browser", "client", "make_client"]
