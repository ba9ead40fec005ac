"""One module per resource; each exposes `blp`."""
