"""Providers: profiles, locations, weekly availability, the slot rules, and search."""
