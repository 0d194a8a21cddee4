"""The house's rooms: every module of a domain package is one of the file roles, so the same
name means the same thing everywhere (docs/architecture.md). The import direction itself is
checked by `make lint` (import-linter)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
ROLES = {"tables", "rules", "queries", "use_cases", "errors"}
# Aggregates own tables and use cases, so they have every role; `providers` is reference data
# (read by the others), `search` and `access_report` read models and `retention` a process over
# the others.
AGGREGATES = {
    "accounts", "appointments", "audit", "consents", "notifications", "records", "waitlist"
}  # fmt: skip
DOMAIN_PACKAGES = sorted(p.name for p in MODELS.iterdir() if (p / "__init__.py").exists())


def roles_of(package: Path) -> set[str]:
    """Its modules' roles: `queries.py` and a `queries/` folder are both the role `queries`."""
    found = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    found |= {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    return found


def test_the_domain_packages_are_the_ones_the_docs_name():
    assert set(DOMAIN_PACKAGES) == AGGREGATES | {
        "providers", "search", "retention", "schedules", "access_report"
    }  # fmt: skip


@pytest.mark.parametrize("name", DOMAIN_PACKAGES)
def test_every_module_of_a_domain_package_is_a_file_role(name: str):
    assert roles_of(MODELS / name) <= ROLES, f"models/{name} has a module outside {sorted(ROLES)}"


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_every_aggregate_has_every_role(name: str):
    assert roles_of(MODELS / name) == ROLES


def test_handlers_are_one_module_per_spec_tag():
    import yaml

    spec = yaml.safe_load((ROOT / "openapi" / "portal.yaml").read_text())
    tags = {tag["name"].replace("-", "_") for tag in spec["tags"]}
    modules = {p.stem for p in (ROOT / "handlers").glob("*.py")} - {"__init__", "dependencies"}
    assert modules == tags
