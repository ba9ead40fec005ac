"""Customers: the base record every vertical builds on."""
