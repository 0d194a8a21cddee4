"""Accounts (patients, doctors, nurses, admins) and their login sessions."""
