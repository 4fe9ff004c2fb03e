"""PyInstaller entry point of the kickwatch bundle: the same `main` as the `kickwatch` script.

Kept outside the package so PyInstaller runs it as `__main__` while `kickwatch.__main__` stays
an ordinary, importable module. With `KICKWATCH_BUNDLE_SELFTEST=1` in the environment it runs
`bundle_selftest` instead (used by packaging/check-bundle.sh), which proves the bundle holds what
is only loaded by name at run time: Qt plugins, the resources, keyring and notifier backends.
"""

import os
import sys

if __name__ == "__main__":
    if os.environ.get("KICKWATCH_BUNDLE_SELFTEST") == "1":
        from bundle_selftest import run_selftest

        sys.exit(run_selftest())

    from kickwatch.__main__ import main

    sys.exit(main())
