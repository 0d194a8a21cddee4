"""Load test (`make load`) and framework-floor benchmark (`make bench`); not part of the app."""
