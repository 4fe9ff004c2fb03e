"""The shipped resources: present, well-formed, found by `resource_path`, and valid for desktops.

The .desktop file and AppStream metadata are checked with `desktop-file-validate` and
`appstreamcli validate --no-net` (Debian: desktop-file-utils, appstream); without them these
tests skip, except under `KICKWATCH_TEST_STRICT=1`, where a missing tool is a failure. A built
PyInstaller bundle is checked when `KICKWATCH_BUNDLE_DIR` names its folder (check-bundle.sh).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from kickwatch import resources
from kickwatch.resources import (
    APP_ID,
    DESKTOP_FILE,
    METAINFO_FILE,
    PNG_ICON_SIZES,
    ResourceNotFoundError,
    TrayState,
    icon_path,
    resource_path,
    tray_icon_path,
)

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "resources"
STRICT = os.environ.get("KICKWATCH_TEST_STRICT") == "1"
SVG_NS = "{http://www.w3.org/2000/svg}"
SVG_FILES = ["kickwatch.svg", *(f"tray-{state.value}.svg" for state in TrayState)]
EXPECTED_FILES = [
    *SVG_FILES,
    DESKTOP_FILE,
    METAINFO_FILE,
    *(f"icons/hicolor/{n}x{n}/apps/{APP_ID}.png" for n in PNG_ICON_SIZES),
    f"icons/hicolor/scalable/apps/{APP_ID}.svg",
]


def require_tool(name: str, package: str) -> str:
    """The tool's path; skip (or fail under KICKWATCH_TEST_STRICT=1) when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install {package})"
        if STRICT:
            pytest.fail(f"KICKWATCH_TEST_STRICT=1: {message}")
        pytest.skip(message)
    return path


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert header[12:16] == b"IHDR"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_resource_exists_and_resource_path_finds_it(name: str) -> None:
    assert (SOURCE / name).is_file()
    assert resource_path(name).is_file()


@pytest.mark.parametrize("name", SVG_FILES)
def test_svg_parses_and_is_square(name: str) -> None:
    root = ElementTree.parse(SOURCE / name).getroot()

    assert root.tag == f"{SVG_NS}svg"
    view_box = [float(v) for v in root.attrib["viewBox"].split()]
    assert view_box[2] == view_box[3] > 0
    # No text: fonts differ between systems and text is unreadable at tray size.
    assert root.find(f".//{SVG_NS}text") is None


@pytest.mark.parametrize("size", PNG_ICON_SIZES)
def test_png_icon_has_its_size(size: int) -> None:
    assert png_size(icon_path(size)) == (size, size)


def test_scalable_icon_is_the_app_icon() -> None:
    scalable = SOURCE / f"icons/hicolor/scalable/apps/{APP_ID}.svg"
    assert scalable.read_bytes() == icon_path().read_bytes()


def test_committed_pngs_match_the_svg() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "render_icons.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_tray_icon_path_covers_every_state() -> None:
    for state in TrayState:
        assert tray_icon_path(state).name == f"tray-{state.value}.svg"
    assert tray_icon_path("live") == tray_icon_path(TrayState.LIVE)
    with pytest.raises(ValueError):
        tray_icon_path("sleeping")


@pytest.mark.parametrize("name", ["../pyproject.toml", "/etc/passwd", ""])
def test_resource_path_refuses_names_outside_resources(name: str) -> None:
    with pytest.raises(ValueError):
        resource_path(name)


def test_missing_resource_is_a_resource_not_found_error() -> None:
    with pytest.raises(ResourceNotFoundError):
        resource_path("no-such-icon.svg")
    with pytest.raises(ValueError):
        icon_path(17)


def test_resource_path_prefers_a_pyinstaller_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = tmp_path / "kickwatch" / "resources_data"
    bundled.mkdir(parents=True)
    (bundled / "kickwatch.svg").write_text("<svg/>")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    resources.resources_dir.cache_clear()
    try:
        assert resource_path("kickwatch.svg") == bundled / "kickwatch.svg"
    finally:
        monkeypatch.undo()
        resources.resources_dir.cache_clear()


def test_resources_module_does_not_import_qt() -> None:
    code = (
        "import sys, kickwatch.resources, kickwatch.platform.autostart\n"
        "assert not any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules), 'Qt'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_desktop_file_validates() -> None:
    validate = require_tool("desktop-file-validate", "desktop-file-utils")

    result = subprocess.run(
        [validate, str(SOURCE / DESKTOP_FILE)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # Only the hint about two main categories (Network and AudioVideo, chosen on purpose).
    for line in result.stdout.splitlines():
        assert "hint:" in line and "more than one main category" in line, line


def test_desktop_file_keys() -> None:
    text = (SOURCE / DESKTOP_FILE).read_text(encoding="utf-8")
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    assert values["Exec"] == "kickwatch"
    assert values["Icon"] == APP_ID
    assert values["Categories"] == "Network;AudioVideo;"
    assert values["StartupNotify"] == "false"
    assert values["Keywords"]


def test_metainfo_validates() -> None:
    appstreamcli = require_tool("appstreamcli", "appstream")

    result = subprocess.run(
        [appstreamcli, "validate", "--no-net", "--pedantic", str(SOURCE / METAINFO_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # Accepted: the upper-case letter in the reverse-DNS id (our chosen id), and the
    # <developer> tag that AppStream < 1.0 does not know yet (kept with <developer_name>).
    allowed = ("cid-contains-uppercase-letter", "unknown-tag developer", "developer-name-tag")
    for line in result.stdout.splitlines():
        if line[:2] in ("E:", "W:", "I:", "P:"):
            assert any(tag in line for tag in allowed), line


def test_metainfo_content() -> None:
    root = ElementTree.parse(SOURCE / METAINFO_FILE).getroot()

    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP_FILE
    release = root.find("releases/release")
    assert release is not None
    assert (release.get("version"), release.get("date")) == ("0.1.0", "2026-11-25")
    images = [image.text or "" for image in root.iter("image")]
    base = "https://raw.githubusercontent.com/kickwatch/kickwatch/main/docs/screenshots/"
    assert images == [base + name for name in ("tray-menu.png", "notification.png", "settings.png")]


def test_pyproject_version_matches_metainfo_release() -> None:
    import tomllib

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    releases = ElementTree.parse(SOURCE / METAINFO_FILE).getroot().findall("releases/release")
    assert releases[0].get("version") == version


BUNDLE_DIR = os.environ.get("KICKWATCH_BUNDLE_DIR")


@pytest.mark.skipif(not BUNDLE_DIR, reason="KICKWATCH_BUNDLE_DIR is not set (no built bundle)")
@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_bundle_holds_resource(name: str) -> None:
    assert BUNDLE_DIR is not None
    bundle = Path(BUNDLE_DIR)
    internal = bundle / "_internal" if (bundle / "_internal").is_dir() else bundle
    bundled = internal / "kickwatch" / "resources_data" / name

    assert bundled.is_file(), f"{bundled} missing from the bundle"
    assert bundled.read_bytes() == (SOURCE / name).read_bytes()
