"""Render the app icon SVG into the PNG sizes of the freedesktop hicolor theme.

`resources/kickwatch.svg` is the single source of the app icon; this script draws it with Qt's
QSvgRenderer (the same renderer the app uses at run time) at every size in `SIZES` and writes
`resources/icons/hicolor/<N>x<N>/apps/io.github.kickwatch.Kickwatch.png`, plus a copy of the SVG
under `hicolor/scalable/apps/`. The PNGs are committed, so run this after editing the SVG.
`--check` renders in memory and fails when a committed PNG is missing or differs in its pixels
beyond a small tolerance (not its bytes: PNG encoders and anti-aliasing differ a little between
Qt builds), which is what CI runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

APP_ID = "io.github.kickwatch.Kickwatch"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
REPO = Path(__file__).resolve().parent.parent
RESOURCES = REPO / "resources"
SOURCE_SVG = RESOURCES / "kickwatch.svg"
HICOLOR = RESOURCES / "icons" / "hicolor"
# What --check accepts: another Qt version anti-aliases edge pixels a little differently (small
# changes), an edited drawing changes many pixels a lot.
CHANNEL_THRESHOLD = 40  # a pixel "changed" when a channel moved by more than this (of 255)
TOLERANCE = 0.01  # share of changed pixels allowed


def png_path(size: int) -> Path:
    """Where the committed PNG of one size lives."""
    return HICOLOR / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def scalable_path() -> Path:
    """Where the copy of the SVG for the hicolor theme's `scalable` size lives."""
    return HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"


def _changed_fraction(first: QImage, second: QImage) -> float:
    """The share of pixels of two same-sized ARGB32 images that differ clearly in a channel."""
    size = first.sizeInBytes()
    a = bytes(first.constBits())[:size]
    b = bytes(second.constBits())[:size]
    changed = sum(
        max(abs(a[i + c] - b[i + c]) for c in range(4)) > CHANNEL_THRESHOLD
        for i in range(0, size, 4)
    )
    return changed / max(size // 4, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed icons are out of date"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Qt imported here, not at module level, so `--help` works without a display or Qt.
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # kept alive while drawing
    renderer = QSvgRenderer(str(SOURCE_SVG))
    if not renderer.isValid():
        print(f"error: {SOURCE_SVG} is not a valid SVG for Qt", file=sys.stderr)
        return 1

    stale: list[str] = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        image = image.convertToFormat(QImage.Format.Format_ARGB32)
        target = png_path(size)
        if args.check:
            committed = QImage(str(target)).convertToFormat(QImage.Format.Format_ARGB32)
            if committed.isNull() or committed.size() != image.size():
                stale.append(str(target.relative_to(REPO)))
            elif (changed := _changed_fraction(committed, image)) > TOLERANCE:
                stale.append(f"{target.relative_to(REPO)} ({changed:.1%} of pixels changed)")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        # The stubs say bytes for the format; PySide6 6.12 only accepts str at run time.
        if not image.save(str(target), "PNG", 9):  # type: ignore[call-overload]
            print(f"error: could not write {target}", file=sys.stderr)
            return 1
        print(f"wrote {target.relative_to(REPO)}")

    if args.check:
        if not scalable_path().is_file() or (
            scalable_path().read_bytes() != SOURCE_SVG.read_bytes()
        ):
            stale.append(str(scalable_path().relative_to(REPO)))
        if stale:
            print("out of date (run packaging/render_icons.py):", *stale, sep="\n  ")
            return 1
        print(f"icons up to date ({len(SIZES)} PNGs + scalable SVG)")
        return 0

    scalable_path().parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE_SVG, scalable_path())
    print(f"wrote {scalable_path().relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
