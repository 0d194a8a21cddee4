"""Who the caller is and what they may do, and how secrets are kept: identity, tokens, passwords,
session rules, the access policy, the CSRF, CORS and header rules the web layer applies, PHI
encryption and the audit trail writer."""
