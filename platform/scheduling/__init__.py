"""Scheduling and dispatch (预约与排班/派工): who works when, bookable resources and services, appointments that the
database keeps from overlapping, free slots, and ranking technicians for a job. docs/scheduling.md."""
