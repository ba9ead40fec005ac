"""Hosting plugins: loading and mounting them, per-tenant enablement, settings, migrations, scaffold."""
