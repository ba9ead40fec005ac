"""Templates, vendored static assets and translation catalogs."""
