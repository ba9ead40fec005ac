"""A tenant's workspace as its admins see it: creating one (roles, first store, owner) and its settings page (name,
language, time zone, currency, duplicate policy). Isolation itself — context, scoping, row-level security — is
`storecrm.tenancy`, which knows nothing of stores, staff or roles."""
