#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests (driven by Playwright through its
# executable_path: `playwright install` is never run), then exports HUD_TEST_CHROMIUM so that those
# tests must run rather than skip. Meant to be sourced as root on Debian/Ubuntu (CI):
#     source .ci/chromium.sh
# Idempotent: an installed chromium is reused. Override the binary with HUD_CHROMIUM.

_hud_chromium_main() {
    local binary="${HUD_CHROMIUM:-/usr/bin/chromium}"
    if [ ! -x "$binary" ]; then
        echo "chromium.sh: installing chromium" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || return 1
        apt-get install -y -qq --no-install-recommends chromium >&2 || return 1
    fi
    "$binary" --version >&2 2>/dev/null || return 1
    export HUD_TEST_CHROMIUM="$binary"
    echo "chromium.sh: HUD_TEST_CHROMIUM=${HUD_TEST_CHROMIUM}" >&2
}

_hud_chromium_main || { echo "chromium.sh: failed to set up chromium" >&2; return 1 2>/dev/null || exit 1; }
unset -f _hud_chromium_main
