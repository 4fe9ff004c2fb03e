"""Platform features behind small interfaces with a null fallback (start at login, notifications).

Each feature is a `Protocol` with one implementation per platform, chosen by one factory (for
example `autostart_for_platform`); callers never test `sys.platform` themselves. No Qt here.
"""

from kickwatch.platform.autostart import (
    Autostart,
    AutostartError,
    NullAutostart,
    autostart_for_platform,
)

__all__ = ["Autostart", "AutostartError", "NullAutostart", "autostart_for_platform"]
