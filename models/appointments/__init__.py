"""Appointments: booking, rescheduling, cancelling, and reading them."""
