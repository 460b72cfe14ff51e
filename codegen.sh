#!/usr/bin/env bash
# Regenerates generated/ from openapi.yaml with the pinned openapi-python-client and ruff.
#
#   ./codegen.sh           regenerate generated/ in place
#   ./codegen.sh --check   regenerate into a temporary folder; fail, naming the files, if generated/ differs
#
# Inputs: openapi.yaml, codegen/config.yaml, codegen/templates/. Change those, never generated/.
set -euo pipefail

GENERATOR_VERSION=0.29.1
RUFF_VERSION=0.17.6
PACKAGE=hud_api
HEADER="# generated from openapi.yaml by codegen.sh — do not edit"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
# The tools come from the project's dev extra; use the project's virtualenv when it is not active.
if [ -x "$root/.venv/bin/openapi-python-client" ]; then PATH="$root/.venv/bin:$PATH"; fi

mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

need() {  # need TOOL VERSION: the exact pinned version, or a clear way to get it
  local have
  have=$("$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true)
  if [ "$have" != "$2" ]; then
    echo "codegen.sh: needs $1 $2 (found: ${have:-none}); run: pip install -e '.[dev]'" >&2
    exit 2
  fi
}
need openapi-python-client "$GENERATOR_VERSION"
need ruff "$RUFF_VERSION"

generate() {  # generate DEST: write the generated tree (package + stamp) into DEST
  local dest=$1 work
  work=$(mktemp -d)
  # --fail-on-warning: without it an endpoint the generator cannot read is dropped with exit 0.
  openapi-python-client generate --path openapi.yaml --config codegen/config.yaml \
    --custom-template-path codegen/templates --meta none --fail-on-warning \
    --output-path "$work/$PACKAGE" >"$work/log" 2>&1 || { cat "$work/log" >&2; rm -rf "$work"; return 1; }
  find "$work/$PACKAGE" -name '*.py' -print0 | sort -z | while IFS= read -r -d '' f; do
    { printf '%s\n' "$HEADER"; cat "$f"; } >"$f.tmp" && mv "$f.tmp" "$f"
  done
  touch "$work/$PACKAGE/py.typed"
  # The server serves the spec it implements from this verified copy (it ships inside the package).
  cp openapi.yaml "$work/$PACKAGE/openapi.yaml"
  local inputs
  inputs=$(cat codegen/config.yaml codegen/templates/* | sha256sum | cut -d' ' -f1)
  cat >"$work/STAMP" <<STAMP
# generated from openapi.yaml by codegen.sh — do not edit
spec_sha256: $(sha256sum openapi.yaml | cut -d' ' -f1)
config_and_templates_sha256: $inputs
openapi-python-client: $GENERATOR_VERSION
ruff: $RUFF_VERSION
STAMP
  rm -rf "$dest"; mkdir -p "$dest"
  cp -r "$work/$PACKAGE" "$work/STAMP" "$dest/"
  cp codegen/README.generated.md "$dest/README.md"
  rm -rf "$work"
}

if [ "$mode" = write ]; then
  generate generated
  echo "codegen.sh: generated/ regenerated from openapi.yaml"
  exit 0
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
generate "$tmp/generated"
if ! diff -r -q generated "$tmp/generated" -x __pycache__ >"$tmp/diff" 2>&1; then
  echo "codegen.sh --check: generated/ does not match openapi.yaml; these differ:" >&2
  sed -e "s#$tmp/##g" -e 's/^/  /' "$tmp/diff" >&2
  echo "run ./codegen.sh and commit generated/ with the change that caused it" >&2
  exit 1
fi
echo "codegen.sh --check: generated/ matches openapi.yaml"
