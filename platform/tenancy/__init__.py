"""Tenants and the isolation machinery every tenant-owned table relies on."""
