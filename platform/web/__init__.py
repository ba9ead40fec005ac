"""The UI shell: layout, navigation, locale, errors, security headers."""
