from tests.devices.fixtures import app, authority, sealer, site, transport
from tests.web.conftest import bearer, client, make_client

__all__ = ["app", "authority", "bearer", "client", "make_client", "sealer", "site", "transport"]
