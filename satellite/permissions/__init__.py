"""Who may do what: roles held on accounts and VAs (grants), API clients and bearer tokens,
and the one permission rule every service asks (policy.py). Below accounts, users and access."""
