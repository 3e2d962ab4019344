"""Local users of the appliance."""
