"""Operators' own tags on licenses, product instances and reservations: words to find things
by. They never grant or restrict access."""
