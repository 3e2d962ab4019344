from tests.cloudsync.conftest import abc, anchored, central, response, satellite_id
from tests.devices.fixtures import app, authority, sealer, site, transport
from tests.web.conftest import bearer, client, make_client

__all__ = ["abc", "anchored", "app", "authority", "bearer", "central", "client", "make_client",
           "response", "satellite_id", "sealer", "site", "transport"]
