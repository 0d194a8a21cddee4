"""Notifications: the messages a change to an appointment sends (confirmations, notices,
reminders), kept in a transactional outbox and delivered from it."""
