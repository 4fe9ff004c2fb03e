#!/usr/bin/env bash
# Prove the wheel works on its own: build it, install it into a fresh venv, run it from there.
#
# Runs from a temporary folder so the source tree is not on sys.path, with KICKWATCH_HOME in a
# temporary folder, KICKWATCH_MASTER_KEY unset and the OS keyring switched off (keyring's "fail"
# backend), so it never touches the developer's data or keyring. Checks: the wheel holds every
# file of resources/; `kickwatch --version`; the installed `resource_path` finds every resource
# inside site-packages; `kickwatch doctor`; the tray app starts offscreen and is still running
# after KICKWATCH_SMOKE_SECONDS (default 8; exit 124 from timeout is success).
# Environment: PYTHON (default python3, >= 3.11), KICKWATCH_KEEP_TMP=1 keeps the temp folder.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-python3}
seconds=${KICKWATCH_SMOKE_SECONDS:-8}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kickwatch-wheel.XXXXXX")
if [ "${KICKWATCH_KEEP_TMP:-0}" = 1 ]; then
    echo "check-wheel: keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
fail() { echo "check-wheel: FAIL: $*" >&2; exit 1; }
step() { echo "check-wheel: $*"; }
# shellcheck source=smoke.sh
source "$repo/packaging/smoke.sh"

version=$("$python" -c 'import tomllib,sys; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')

step "building the wheel"
# setuptools builds in build/lib; stale files there (deleted modules) would end up in the wheel.
rm -rf build/lib build/bdist.*
"$python" -m pip wheel . --no-deps --quiet --disable-pip-version-check -w "$tmp/dist"
wheel=$(ls "$tmp"/dist/kickwatch-*.whl)
step "built $(basename "$wheel")"

step "checking the wheel holds resources/"
"$python" - "$wheel" resources <<'PY'
import sys, zipfile
from pathlib import Path
wheel, source = sys.argv[1], Path(sys.argv[2])
names = set(zipfile.ZipFile(wheel).namelist())
expected = {f"kickwatch/resources_data/{p.relative_to(source).as_posix()}"
            for p in source.rglob("*") if p.is_file()}
missing = sorted(expected - names)
if missing:
    sys.exit("missing from the wheel:\n  " + "\n  ".join(missing))
print(f"  {len(expected)} resource files in the wheel")
PY

step "installing into a fresh venv"
"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"

mkdir -p "$tmp/run" "$tmp/home" "$tmp/xdg"
cd "$tmp/run"
unset KICKWATCH_MASTER_KEY KICKWATCH_DB PYTHONPATH PYTHONHOME
export KICKWATCH_HOME="$tmp/home"
export PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring
export XDG_CONFIG_HOME="$tmp/xdg/config" XDG_DATA_HOME="$tmp/xdg/data"
export XDG_CACHE_HOME="$tmp/xdg/cache" XDG_STATE_HOME="$tmp/xdg/state"
kickwatch="$tmp/venv/bin/kickwatch"

step "kickwatch --version"
out=$("$kickwatch" --version) || fail "kickwatch --version exited $?"
[ "$out" = "kickwatch $version" ] || fail "kickwatch --version printed '$out', expected 'kickwatch $version'"
echo "  $out"

step "installed package finds its resources"
"$tmp/venv/bin/python" - "$repo/resources" <<'PY'
import sys, sysconfig
from pathlib import Path
import kickwatch
from kickwatch.resources import TrayState, icon_path, resource_path, resources_dir, tray_icon_path
site = Path(sysconfig.get_paths()["purelib"]).resolve()
assert Path(kickwatch.__file__).resolve().is_relative_to(site), f"kickwatch imported from {kickwatch.__file__}"
assert resources_dir().resolve().is_relative_to(site), f"resources found in {resources_dir()}"
source = Path(sys.argv[1])
files = [p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()]
for name in files:
    assert resource_path(name).read_bytes() == (source / name).read_bytes(), name
icon_path(); icon_path(256); [tray_icon_path(s) for s in TrayState]
print(f"  {len(files)} resources under {resources_dir()}")
PY

smoke_doctor "$kickwatch"
smoke_app_starts "$kickwatch"
step "passed"
