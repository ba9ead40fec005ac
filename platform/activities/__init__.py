"""What staff do with customers: interactions (calls, visits, messages, notes) and tasks (待办)."""
