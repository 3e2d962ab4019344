from tests.devices.fixtures import app, authority, sealer, site, transport

__all__ = ["app", "authority", "sealer", "site", "transport"]
