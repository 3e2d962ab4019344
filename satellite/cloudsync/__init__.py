"""Sync with Central: the signed bundle that crosses the air gap, and what is done with it."""

# satellite_state key holding the serial of the last Central response applied.
LAST_SERIAL_KEY = "sync.last_response_serial"
