"""Audit log: who changed what, when, before and after."""
