"""The device side of the device protocol: a library for vendors and the `satellite-agent` CLI."""
