"""PyInstaller hook for PySide6.QtGui that leaves out the Qt plugins a tray app never loads.

It replaces PyInstaller's own hook (user hooks have the highest priority and only one hook per
module runs), collects the same files through the same helper, then drops plugins by name. What
goes matters most for `platformthemes/libqgtk3.so`: it links GTK 3, so PyInstaller would copy the
build machine's GTK, Pango, Cairo and friends into the bundle (tens of MB), and at run time the
bundled copies can clash with the desktop's. Qt then uses its own Fusion look plus the xdg desktop
portal theme for colours. Kept: xcb and wayland (real sessions), offscreen and minimal (tests,
headless), the svg icon engine, and the image formats an avatar or icon may come in.
"""

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

EXCLUDED_PLUGINS = {
    # GTK 3 theme: pulls the host's GTK stack (see above).
    "platformthemes": {"libqgtk3.so"},
    # Framebuffer, EGL, VNC and Vulkan-display platforms: embedded devices, not desktops.
    "platforms": {
        "libqeglfs.so",
        "libqlinuxfb.so",
        "libqminimalegl.so",
        "libqvkkhrdisplay.so",
        "libqvnc.so",
    },
    "egldeviceintegrations": None,  # None: the whole plugin folder
    "generic": None,  # evdev/tuio input for the framebuffer platforms
    # Image formats nobody sends a tray app; gif, ico, jpeg, svg and webp stay.
    "imageformats": {"libqicns.so", "libqpdf.so", "libqtga.so", "libqtiff.so", "libqwbmp.so"},
    "platforminputcontexts": {"libqtvirtualkeyboardplugin.so"},
}


def _wanted(source: str, destination: str) -> bool:
    parts = destination.replace("\\", "/").split("/")
    if "plugins" not in parts:
        return True
    plugin_type = "/".join(parts[parts.index("plugins") + 1 :])
    if plugin_type not in EXCLUDED_PLUGINS:
        return True
    names = EXCLUDED_PLUGINS[plugin_type]
    return names is not None and source.replace("\\", "/").rsplit("/", 1)[-1] not in names


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [
    (source, destination) for source, destination in binaries if _wanted(source, destination)
]
