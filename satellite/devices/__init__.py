"""Product instances (devices): registration, the device protocol, consumption and aging."""
