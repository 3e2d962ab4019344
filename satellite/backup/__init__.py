"""Backup and restore of a whole satellite: database, keys, certificates and settings."""
