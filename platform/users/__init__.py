"""Staff accounts of a tenant."""
