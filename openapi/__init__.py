"""The contract: portal.yaml is the single source of truth for routes, validation and auth."""

from pathlib import Path

SPEC_PATH = Path(__file__).with_name("portal.yaml")
