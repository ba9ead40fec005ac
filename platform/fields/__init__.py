"""Custom fields: tenant-defined typed fields on customers (and, later, assets and plugin entities)."""
