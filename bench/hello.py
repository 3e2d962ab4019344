"""The baseline: a bare Flask app with one JSON endpoint, served by waitress like the satellite."""

from __future__ import annotations

import argparse

from flask import Flask, jsonify
from waitress import serve


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> object:
        return jsonify(message="hello")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    serve(create_app(), host="127.0.0.1", port=args.port, threads=args.threads, ident="hello")


if __name__ == "__main__":
    main()
