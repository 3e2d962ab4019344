"""The sync commands use the cloudsync test central and trusting satellite."""

from tests.cloudsync.conftest import anchored, central, response, satellite_id

__all__ = ["anchored", "central", "response", "satellite_id"]
