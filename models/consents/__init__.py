"""Consents a patient grants, and may later revoke, for uses of their data."""
