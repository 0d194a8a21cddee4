"""The operator's side: the `portal` command, migrations, PHI key rotation and demo data."""
