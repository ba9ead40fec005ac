"""Built-in vertical plugins; each is shaped like a third-party plugin package."""
