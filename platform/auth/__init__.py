"""Authentication: passwords, browser sessions, API tokens, password reset."""
