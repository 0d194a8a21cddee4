"""Medical records and their attached files."""
