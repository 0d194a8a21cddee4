"""Schedules: a provider's weekly hours, time off and extra hours, managed by the provider or an
admin (use cases over the appointments aggregate's availability tables, under its provider lock)."""
