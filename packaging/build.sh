#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle dist/kickwatch/ from this checkout.
#
# Creates (or reuses) its own virtual environment under build/ with `.[packaging]` installed, so
# it works from a clean checkout and never touches the developer's venv. Environment:
#   PYTHON                    interpreter for the build venv (default: python3; needs >= 3.11)
#   KICKWATCH_BUILD_VENV      where the venv lives (default: build/venv)
#   KICKWATCH_BUNDLE_EXTRAS   extras to install (default: packaging; add ",postgres" for psycopg)
# Prints the bundle's size on disk and compressed.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-python3}
venv=${KICKWATCH_BUILD_VENV:-build/venv}
extras=${KICKWATCH_BUNDLE_EXTRAS:-packaging}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "build.sh: $python is older than Python 3.11" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "build.sh: creating $venv"
    "$python" -m venv "$venv"
fi
echo "build.sh: installing .[$extras] into $venv"
# setuptools builds in build/lib; stale files there (deleted modules) would end up in the wheel.
rm -rf build/lib build/bdist.*
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ".[$extras]"

# PyInstaller's cache of analysed binaries goes under build/, not ~/.cache.
export PYINSTALLER_CONFIG_DIR="$repo/build/pyinstaller-config"
rm -rf dist/kickwatch build/pyinstaller
start=$(date +%s)
"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/pyinstaller/kickwatch.spec
echo "build.sh: built dist/kickwatch in $(( $(date +%s) - start )) s"

size=$(du -sh dist/kickwatch | cut -f1)
compressed=$(tar -C dist -czf - kickwatch | wc -c)
echo "build.sh: bundle size ${size} on disk, $(( compressed / 1048576 )) MiB as .tar.gz"
