"""Demo tenant with realistic Chinese sample data (`flask demo load`)."""
