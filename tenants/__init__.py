"""SaaS control plane: signup, plans, billing, tenant lifecycle."""
