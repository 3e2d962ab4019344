"""Accounts (local tenants) and their Virtual Accounts."""
