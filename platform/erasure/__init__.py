"""Erasing a customer's personal data for good (PIPL): a cross-cutting operation over every module that may hold
it, so it sits above them (docs/customers.md, "Erasure (PIPL)")."""
