"""The benchmark suite runs end to end in its tiny `--quick` mode (figures are not checked: see bench/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _servers import postgres_url

from bench._run import ROWS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.live
def test_quick_bench_prints_every_row() -> None:
    # The PostgreSQL row runs too when HUD_TEST_POSTGRES_URL is set (as in CI), else it says skipped.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUD_")}
    if postgres_url() is not None:
        env["HUD_TEST_POSTGRES_URL"] = str(postgres_url())
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    firsts = [line.split("|")[1].strip() for line in table[2:]]
    # Every row is one of ROWS, in ROWS' order; the throughput rows repeat once per load generator.
    kinds = [next((i for i, prefix in enumerate(ROWS) if first.startswith(prefix)), -1) for first in firsts]
    assert -1 not in kinds, done.stdout
    assert sorted(set(kinds)) == list(range(len(ROWS))) and kinds == sorted(kinds), done.stdout
    assert "machine:" in done.stdout
    # The Python generator always runs (the goal is set with it); wrk too when it is on PATH.
    generators = ["python", "wrk"] if shutil.which("wrk") else ["python"]
    for generator in generators:
        assert f"load generator {generator} (server pairs/s rows): " in done.stdout
        assert f"server pairs/s, SQLite, 1 worker ({generator})" in done.stdout
    assert f"server pairs/s, PostgreSQL, 4 vs 1 workers ({generators[-1]}, reconnect every 32)" in done.stdout
    assert len(firsts) == len(ROWS) + len(generators) - 1, done.stdout
