"""Notifications through a transactional outbox, and exact-time timers.

A message is a row written in the same transaction as the business change that causes it; it is relayed after
commit (and by a sweep every minute, so a broker outage delays but never loses it). In-app notifications are rows
users read directly. Timers are rows with a due time, claimed with FOR UPDATE SKIP LOCKED by any number of
schedulers, and fired exactly once in the transaction of their handler.
"""
