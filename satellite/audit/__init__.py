"""The audit trail: every state change, in a hash chain."""
