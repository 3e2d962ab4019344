"""Every call into `cryptography` lives in this package, one small module per concern."""
