"""Server throughput of several git revisions, same run: `python -m bench._revisions REV [REV ...]`.

Each revision is checked out into a temporary worktree and served by its own `hud server` (SQLite, 1
worker, this environment's Python run in the worktree, so that its `hud` is imported); wrk drives each with that
revision's own `bench/_pairs.lua` (the same create + close pairs, in the request format of its time), in
alternating rounds after one warm-up each. Prints the median pairs/s and the server's CPU per request,
each as a ratio to the first revision: what a change costs the server, on this machine, now.
Needs wrk (`source bench/setup.sh`).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench import _loadgen
from bench._servers import Served, cpu_seconds, free_port, serve

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent


def _start(tree: Path, database_url: str, stack: contextlib.ExitStack) -> tuple[Served, str, str]:
    """A `hud server` of the checkout `tree`; (it, an API key, a job id)."""
    run = [sys.executable, "-m", "hud._cli"]
    key = subprocess.run(
        [*run, "keys", "create", "--db", database_url, "--account", "bench"],
        cwd=tree,  # `python -m` puts the working folder first: this checkout's hud
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    port = free_port()
    command = [*run, "server", "--host", "127.0.0.1", "--port", str(port), "--db", database_url]
    command += ["--log-level", "warning"]
    served = stack.enter_context(serve(command, port, cwd=tree))
    headers = {"Authorization": f"Bearer {key}"}
    job = httpx.post(f"{served.base_url}/v2/jobs", json={"name": "bench"}, headers=headers).json()["id"]
    return served, key, str(job)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._revisions", description=__doc__)
    parser.add_argument("revisions", nargs="+", help="git revisions; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    generator = next((g for g in _loadgen.choose("wrk", wrk_connections=16, python_connections=8) if g.wrk), None)
    if generator is None:
        parser.error("wrk is not on PATH: `source bench/setup.sh` installs it")
    rates: dict[str, list[float]] = {rev: [] for rev in args.revisions}
    cpu: dict[str, list[float]] = {rev: [] for rev in args.revisions}
    errors = dict.fromkeys(args.revisions, 0)
    with tempfile.TemporaryDirectory(prefix="hud-revisions-") as workdir, contextlib.ExitStack() as stack:
        servers = {}
        for i, rev in enumerate(args.revisions):
            tree = Path(workdir) / f"tree-{i}"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), rev], check=True)
            stack.callback(subprocess.run, ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)])
            servers[rev] = (*_start(tree, f"sqlite:///{workdir}/{i}.db", stack), tree / "bench" / "_pairs.lua")
        for served, key, job, script in servers.values():
            generator.run(served.base_url, key, job, 1.0, script=script)
        for i in range(args.rounds):
            for rev in args.revisions if i % 2 == 0 else reversed(args.revisions):
                served, key, job, script = servers[rev]
                before = cpu_seconds(served.pid)
                pairs = generator.run(served.base_url, key, job, args.seconds, script=script)
                rates[rev].append(pairs.rate)
                errors[rev] += pairs.errors
                cpu[rev].append((cpu_seconds(served.pid) - before) * 1000 / max(pairs.requests, 1))
    base_rate, base_cpu = statistics.median(rates[args.revisions[0]]), statistics.median(cpu[args.revisions[0]])
    print("| revision | pairs/s | server CPU per request | errors |\n| --- | --- | --- | --- |")
    for rev in args.revisions:
        rate, used = statistics.median(rates[rev]), statistics.median(cpu[rev])
        print(
            f"| {rev} | {rate:.0f} ({rate / base_rate:.2f}x) | {used:.3f} ms ({used / base_cpu:.2f}x) | {errors[rev]} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
