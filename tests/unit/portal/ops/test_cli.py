"""The `portal` command: migrate and seed a fresh SQLite database; refuse unsafe settings."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from portal.ops.cli import build_parser, main


def test_upgrade_then_seed_twice(tmp_path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'nested' / 'portal.sqlite3'}")
    monkeypatch.setenv("STORAGE_PATH", str(tmp_path / "files"))
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "seed", "--providers", "20"]) == 0
    assert "added 29 users, 21 providers" in capsys.readouterr().out
    assert main(["db", "seed", "--providers", "20"]) == 0
    assert "added 0 users, 0 providers" in capsys.readouterr().out
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'nested' / 'portal.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM provider_profiles").scalar() == 21
    engine.dispose()
    assert any((tmp_path / "files" / "records").iterdir())


def test_production_without_secret_exits_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert main(["db", "upgrade"]) == 2
    assert "JWT_SECRET is required" in capsys.readouterr().err


def test_serve_options_parse() -> None:
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "8080"])
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 8080, 1)


def test_serve_with_workers_shares_a_fresh_metrics_directory(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from portal.ops.cli import _metrics_dir

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with _metrics_dir(1):
        assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # one process: its own registry
    with _metrics_dir(2):
        created = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        assert os.path.isdir(created)
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert not os.path.exists(created)

    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "keep.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))
    with _metrics_dir(2):
        assert sorted(p.name for p in given.iterdir()) == ["keep.txt"]  # old samples gone
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(given)


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "seed"], ["audit", "verify"]])
def test_an_unreachable_database_is_one_line_and_a_failure(
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    from tests.support.ports import free_port

    nobody = free_port(ports=range(3900, 4000))  # nothing listens there
    monkeypatch.setenv("DATABASE_URL", f"mysql://root:hunter2@127.0.0.1:{nobody}/portal")
    assert main(command) == 1
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()[-1:]
    assert line.startswith("portal: the database at mysql+pymysql://root:***@127.0.0.1:")
    assert "Can't connect" in line and "hunter2" not in err and "Traceback" not in err


def test_seed_counts_the_generated_patients_it_adds(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    monkeypatch.setenv("STORAGE_PATH", str(tmp_path / "files"))
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "seed", "--providers", "4", "--appointments", "120"]) == 0
    out = capsys.readouterr().out
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    with engine.connect() as connection:
        users = connection.exec_driver_sql("SELECT count(*) FROM users").scalar()
        appointments = connection.exec_driver_sql("SELECT count(*) FROM appointments").scalar()
    engine.dispose()
    assert f"added {users} users, 5 providers, {appointments} appointments" in out  # and doctor2


def test_development_data_moves_to_a_real_key_with_one_documented_command(
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    from security.phi import generate_key

    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STORAGE_PATH", str(tmp_path / "files"))
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "seed", "--providers", "2"]) == 0  # sealed with the development key
    monkeypatch.setenv("PHI_ENCRYPTION_KEYS", f"real1:{generate_key()}")
    capsys.readouterr()

    assert main(["keys", "rotate"]) == 1
    err = capsys.readouterr().err
    assert "--from-development-key" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1

    assert main(["keys", "rotate", "--from-development-key"]) == 0
    assert "re-encrypted under key 'real1'" in capsys.readouterr().out
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        reasons = connection.exec_driver_sql("SELECT reason FROM appointments").scalars().all()
    engine.dispose()
    assert reasons and all(reason.startswith("v1:real1:") for reason in reasons)
    assert main(["keys", "rotate"]) == 0  # the new key alone reads everything now


@pytest.mark.parametrize(("setting", "passed"), [(None, 75), ("120", 120)])
def test_serve_passes_the_keep_alive_setting_to_uvicorn(
    setting: str | None, passed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    monkeypatch.setattr("portal.ops.cli.configure_logging", lambda *a, **k: None, raising=False)
    if setting is None:
        monkeypatch.delenv("KEEP_ALIVE_SECONDS", raising=False)
    else:
        monkeypatch.setenv("KEEP_ALIVE_SECONDS", setting)
    assert main(["serve"]) == 0
    (options,) = calls
    assert options["timeout_keep_alive"] == passed
