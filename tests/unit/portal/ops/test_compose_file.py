"""docker-compose.yml, the Dockerfile and deploy/ as an operator starts them: a valid Compose
file, every secret required from `.env`, pinned images, every service waiting for what it uses,
and an image that can write where its storage path resolves."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft7Validator

from kernel.settings import Settings
from tests.support.compose_file import (
    COMPOSE_FILE,
    DOCKERFILE,
    ROOT,
    Image,
    InterpolationError,
    compose_schema,
    depends_on,
    env_file,
    interpolate,
    load_compose,
    operator_variables,
    read_dockerfile,
    service_environment,
    service_healthcheck,
)

# What the operator must set in .env: no default could be safe for any of them.
SECRETS = {
    "JWT_SECRET",
    "AUDIT_CHAIN_KEY",
    "PHI_ENCRYPTION_KEYS",
    "STORAGE_ENCRYPTION_KEY",
    "DB_PASSWORD",
    "DB_ROOT_PASSWORD",
    "DB_REPLICATION_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "MINIO_KMS_SECRET_KEY",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(operator_variables())


def schema_errors(model: dict[str, Any]) -> list[str]:
    validator = Draft7Validator(compose_schema())
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(model)
    ]


def test_the_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


def test_the_schema_check_catches_a_misspelt_condition() -> None:
    raw = COMPOSE_FILE.read_text().replace(
        "migrate: { condition: service_completed_successfully }",
        "migrate: { condition: service_completed }",
    )
    model = load_compose(operator_variables(), raw=raw)
    assert any("depends_on" in problem for problem in schema_errors(model))


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${A}-$A-$$A", {"A": "x"}, "x-x-$A"),
        ("${A:-d} ${A-d}", {"A": ""}, "d "),
        ("${A:-d} ${A-d}", {}, "d d"),
        ("${A:+set} ${A+set}", {"A": ""}, " set"),
        ("${A:-${B:-nested}}", {}, "nested"),
        ("${UNSET}", {}, ""),
    ],
)
def test_interpolation_follows_compose(text: str, variables: dict[str, str], expected: str) -> None:
    assert interpolate(text, variables) == expected


def test_required_variables_stop_with_their_message() -> None:
    with pytest.raises(InterpolationError, match="A is missing a value: say why"):
        interpolate("${A:?say why}", {"A": ""})
    assert interpolate("${A?say why}", {"A": ""}) == ""
    with pytest.raises(InterpolationError, match="A is missing a value"):
        interpolate("${A?say why}", {})


def test_every_secret_must_come_from_the_env_file() -> None:
    """The example .env as shipped (secrets empty) stops Compose, naming each secret."""
    with pytest.raises(InterpolationError) as refused:
        load_compose(env_file())
    named = set(re.findall(r"required variable (\w+) is missing", str(refused.value)))
    assert named == SECRETS


def test_the_example_env_file_lists_every_variable_the_compose_file_reads() -> None:
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert used <= set(env_file()), used - set(env_file())
    assert used >= SECRETS


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag != "latest", f"{name}: {image} is not pinned"
        # a release, not a moving major line: at least major.minor, or a dated release
        assert re.match(r"^(\d+\.\d+|RELEASE\.)", tag), f"{name}: {image} is not pinned"


def test_migrate_and_the_app_share_the_production_environment(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate, app = (service_environment(services[name]) for name in ("migrate", "app"))
    assert migrate == app
    Settings(**{key.lower(): value for key, value in app.items()})  # production accepts it


def _hosts_in(environment: dict[str, str]) -> set[str]:
    return {urlsplit(value).hostname or "" for value in environment.values() if "://" in value}


def _waits_for(compose: dict[str, Any], name: str) -> dict[str, str]:
    """Every service `name` waits for, directly or through its dependencies, with the condition."""
    found: dict[str, str] = {}
    pending = [name]
    while pending:
        for dependency, condition in depends_on(compose["services"][pending.pop()]).items():
            if dependency not in found:
                found[dependency] = condition
                pending.append(dependency)
    return found


def test_the_app_waits_until_everything_it_uses_is_ready(compose: dict[str, Any]) -> None:
    services = compose["services"]
    used = _hosts_in(service_environment(services["app"])) & set(services)
    assert used == {"mariadb", "mariadb-replica", "redis", "minio"}
    waits = _waits_for(compose, "app")
    for dependency in (*used, "migrate", "minio-bucket"):
        assert waits.get(dependency) in ("service_healthy", "service_completed_successfully"), (
            dependency,
            waits,
        )


def test_a_service_waited_on_until_healthy_has_a_health_check(compose: dict[str, Any]) -> None:
    image = read_dockerfile()
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in services, (name, dependency)
            if condition == "service_healthy":
                built = image if "build" in services[dependency] else None
                assert service_healthcheck(services[dependency], built), (name, dependency)


def test_the_bucket_service_creates_the_apps_bucket(compose: dict[str, Any]) -> None:
    services = compose["services"]
    bucket = service_environment(services["minio-bucket"])["AWS_S3_BUCKET"]
    assert bucket == service_environment(services["app"])["AWS_S3_BUCKET"]
    assert '"local/$AWS_S3_BUCKET"' in " ".join(services["minio-bucket"]["command"])


def test_the_load_balancer_sends_to_the_app_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    lb = services["lb"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in lb["volumes"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    upstreams = re.findall(r"^\s*server\s+([\w-]+):(\d+)", nginx, re.MULTILINE)
    assert upstreams == [("app", "3000")]
    assert "3000" in services["app"]["expose"]
    assert depends_on(lb) == {"app": "service_healthy"}
    assert "http://127.0.0.1/health" in service_healthcheck(lb, None)


def storage_path_problem(image: Image) -> str | None:
    """Where STORAGE_PATH (the image's, else the settings' default) resolves, if the image's
    user cannot write there; None when it can."""
    path = image.env.get("STORAGE_PATH", Settings.model_fields["storage_path"].default)
    resolved = PurePosixPath(image.workdir) / path
    owned = {
        PurePosixPath(directory)
        for command in image.run
        for match in re.finditer(rf"chown\s+(?:-R\s+)?{image.user}(?::\S+)?\s+([^&;|]+)", command)
        for directory in match.group(1).split()
    }
    if any(resolved == d or d in resolved.parents for d in owned):
        return None
    return f"STORAGE_PATH resolves to {resolved}; {image.user} owns only {sorted(map(str, owned))}"


def test_the_image_can_write_where_storage_path_resolves() -> None:
    assert storage_path_problem(read_dockerfile()) is None


def test_the_storage_check_catches_a_relative_default() -> None:
    without = re.sub(r"\n\s*STORAGE_PATH=\S+ \\", "", DOCKERFILE.read_text())
    image = read_dockerfile(raw=without)
    assert "STORAGE_PATH" not in image.env
    assert "/var/lib/portal/var/storage" in (storage_path_problem(image) or "")
