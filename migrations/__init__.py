"""Alembic migrations of the core (run as the owner role)."""
