"""Alembic migrations: one revision per schema change, tested up and down on SQLite and MariaDB."""
