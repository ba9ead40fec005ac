"""Stock: quantities per item and location, an append-only movement ledger, serials, transfers and counts."""
