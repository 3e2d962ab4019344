"""Registration tokens: the secrets devices register with."""
