"""Benchmarks: run with `make bench` or `python -m bench.checkin`; never part of `make test`."""
