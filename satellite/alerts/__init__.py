"""Alerts: conditions an operator should act on, kept as records the UI, API and CLI list."""
