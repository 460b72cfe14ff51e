#!/usr/bin/env bash
# The benchmarks' set-up (docs/benchmarks.md): wrk, the C load generator of the server-throughput rows,
# and a local PostgreSQL with HUD_TEST_POSTGRES_URL for the PostgreSQL row. Meant to be sourced as root
# on Debian/Ubuntu, from the checkout's root:
#     source bench/setup.sh && .venv/bin/python -m bench
# Idempotent: an installed wrk and a running PostgreSQL are reused (see .ci/postgres.sh).
# macOS: `brew install wrk`, and set HUD_TEST_POSTGRES_URL to a PostgreSQL of your own.

_hud_bench_setup() {
    if ! command -v wrk >/dev/null 2>&1; then
        echo "bench/setup.sh: installing wrk" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || return 1
        apt-get install -y -qq --no-install-recommends wrk >&2 || return 1
    fi
    echo "bench/setup.sh: $(wrk --version 2>&1 | head -n 1)" >&2
    # shellcheck source=../.ci/postgres.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../.ci/postgres.sh" || return 1
}

_hud_bench_setup || { echo "bench/setup.sh: set-up failed" >&2; return 1 2>/dev/null || exit 1; }
unset -f _hud_bench_setup
