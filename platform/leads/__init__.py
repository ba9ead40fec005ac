"""Leads and pipeline (线索): capture, One-ID dedupe, assignment to staff on shift, first-contact SLA, funnel."""
