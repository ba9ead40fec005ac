"""Roles, permissions and store scoping."""
