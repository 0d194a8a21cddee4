"""The benchmark tools still run (nothing else exercises them between measurements)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_profile_runs_both_endpoints_in_production_settings() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.profile", "--requests", "3", "--no-profile"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GET /health:" in done.stdout
    assert "GET /api/auth/me:" in done.stdout
