#!/usr/bin/env bash
# Installs and starts a local PostgreSQL for the `postgres`-marked tests, then exports
# HUD_TEST_POSTGRES_URL. Meant to be sourced as root on Debian/Ubuntu (CI):
#     source .ci/postgres.sh
# Idempotent: an installed package, an existing cluster or a running server are reused.
# Override with HUD_PG_USER / HUD_PG_PASSWORD / HUD_PG_PORT.

_hud_pg_main() {
    local user="${HUD_PG_USER:-hud}" password="${HUD_PG_PASSWORD:-hud}" port="${HUD_PG_PORT:-5432}"
    if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
        echo "postgres.sh: installing postgresql" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || return 1
        apt-get install -y -qq --no-install-recommends postgresql >&2 || return 1
    fi
    local version
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -x "${version}/main" >/dev/null; then
        pg_createcluster "$version" main --port "$port" >&2 || return 1
    fi
    if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -x online >/dev/null; then
        pg_ctlcluster "$version" main start >&2 || return 1
    fi
    local cluster_port
    cluster_port="$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')"
    local i
    for i in $(seq 1 30); do
        su postgres -c "psql -p $cluster_port -tAc 'SELECT 1'" >/dev/null 2>&1 && break
        sleep 1
    done
    # A superuser: the tests create and drop one database per test.
    su postgres -c "psql -p $cluster_port -v ON_ERROR_STOP=1 -q" >&2 <<SQL || return 1
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${user}') THEN
        CREATE ROLE "${user}" LOGIN SUPERUSER PASSWORD '${password}';
    ELSE
        ALTER ROLE "${user}" LOGIN SUPERUSER PASSWORD '${password}';
    END IF;
END
\$\$;
SQL
    if ! su postgres -c "psql -p $cluster_port -tAc \"SELECT 1 FROM pg_database WHERE datname = '${user}'\"" | grep 1 >/dev/null; then
        su postgres -c "createdb -p $cluster_port -O '${user}' '${user}'" >&2 || return 1
    fi
    export HUD_TEST_POSTGRES_URL="postgresql+psycopg://${user}:${password}@127.0.0.1:${cluster_port}/${user}"
    echo "postgres.sh: HUD_TEST_POSTGRES_URL=${HUD_TEST_POSTGRES_URL}" >&2
}

_hud_pg_main || { echo "postgres.sh: failed to set up PostgreSQL" >&2; return 1 2>/dev/null || exit 1; }
unset -f _hud_pg_main
