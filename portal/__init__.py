"""Wiring: the web stack (`web`), the running app's services (`runtime`) and the operator's
commands and demo data (`ops`). No domain rule lives here."""
