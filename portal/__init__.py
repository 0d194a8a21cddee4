"""Wiring of the patient portal API: app factory, settings, database, errors, storage, CLI."""
