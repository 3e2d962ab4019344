"""Who may do what: roles, grants, API clients, bearer tokens and access requests."""
