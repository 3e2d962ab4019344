"""The web UI's blueprint: each page module routes its views on it with `@ui.route`."""

from __future__ import annotations

from flask import Blueprint

ui = Blueprint("ui", __name__)
