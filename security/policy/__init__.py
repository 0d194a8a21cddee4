"""Who may see or change what: one module per question, each rule written once.

Use cases ask these before they read or change anything and let `NotAllowed` travel to the
error translator; nothing else compares roles.
"""
