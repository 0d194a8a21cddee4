"""Demo data for development and tests: providers, accounts, appointments, records and files."""
