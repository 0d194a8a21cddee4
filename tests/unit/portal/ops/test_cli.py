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
    assert "added 28 users, 20 providers" in capsys.readouterr().out
    assert main(["db", "seed", "--providers", "20"]) == 0
    assert "added 0 users, 0 providers" in capsys.readouterr().out
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'nested' / 'portal.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM provider_profiles").scalar() == 20
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
