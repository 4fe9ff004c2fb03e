#!/usr/bin/env bash
# Build the PyInstaller bundle with build.sh and prove it runs on its own.
#
# Checks: `dist/kickwatch/kickwatch --version`; the bundle holds every file of resources/
# unchanged; the bundle self-test (Qt platform and image plugins, the icons rendered through
# them, no GTK, keyring and desktop-notifier backends, every kickwatch module); `kickwatch
# doctor`; the tray app started offscreen is still running after KICKWATCH_SMOKE_SECONDS
# (default 8). Reports the bundle size. KICKWATCH_HOME, the XDG folders and keyring ("fail"
# backend) are isolated in a temporary folder. KICKWATCH_SKIP_BUILD=1 checks an existing
# dist/kickwatch without rebuilding. Then run the pytest bundle checks with
#   KICKWATCH_BUNDLE_DIR=dist/kickwatch pytest tests/packaging
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
bundle="$repo/dist/kickwatch"
seconds=${KICKWATCH_SMOKE_SECONDS:-8}
fail() { echo "check-bundle: FAIL: $*" >&2; exit 1; }
step() { echo "check-bundle: $*"; }
# shellcheck source=smoke.sh
source "$repo/packaging/smoke.sh"

if [ "${KICKWATCH_SKIP_BUILD:-0}" != 1 ]; then
    packaging/build.sh
fi
[ -x "$bundle/kickwatch" ] || fail "$bundle/kickwatch not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kickwatch-bundle.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/xdg"
cd "$tmp"
unset KICKWATCH_MASTER_KEY KICKWATCH_DB PYTHONPATH PYTHONHOME
export KICKWATCH_HOME="$tmp/home"
export PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring
export XDG_CONFIG_HOME="$tmp/xdg/config" XDG_DATA_HOME="$tmp/xdg/data"
export XDG_CACHE_HOME="$tmp/xdg/cache" XDG_STATE_HOME="$tmp/xdg/state"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/pyproject.toml" | head -n1)

step "kickwatch --version"
start=$(date +%s%N)
out=$("$bundle/kickwatch" --version) || fail "kickwatch --version exited $?"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$out" = "kickwatch $version" ] || fail "--version printed '$out', expected 'kickwatch $version'"
echo "  $out (in ${elapsed_ms} ms)"

step "the bundle holds resources/"
diff -r "$repo/resources" "$bundle/_internal/kickwatch/resources_data" \
    || fail "bundle resources differ from resources/"
echo "  $(find "$bundle/_internal/kickwatch/resources_data" -type f | wc -l) files, identical"

step "bundle self-test"
rc=0
KICKWATCH_BUNDLE_SELFTEST=1 "$bundle/kickwatch" >"$tmp/selftest.log" 2>&1 || rc=$?
sed 's/^/  /' "$tmp/selftest.log"
[ "$rc" -eq 0 ] || fail "bundle self-test failed ($rc)"

smoke_doctor "$bundle/kickwatch"
smoke_app_starts "$bundle/kickwatch"

size=$(du -sh "$bundle" | cut -f1)
compressed=$(tar -C "$repo/dist" -czf - kickwatch | wc -c)
step "bundle size: ${size} on disk, $(( compressed / 1048576 )) MiB as .tar.gz"
step "passed"
