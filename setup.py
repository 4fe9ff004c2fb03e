"""Package list for setuptools: the one thing pyproject.toml cannot say declaratively.

The app's resources (icons, the .desktop file, AppStream metadata) live in the top-level
`resources/` folder, where desktop tooling and packagers expect them, and are installed as the
package `kickwatch.resources_data` (mapped by `package-dir` in pyproject.toml). A declarative
`packages.find` cannot list a package whose folder is outside the search tree, and an explicit
`packages` list would silently drop every new subpackage, so the list is computed here. All other
configuration is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["kickwatch", "kickwatch.*"], exclude=["*.__pycache__"]),
        "kickwatch.resources_data",
    ],
)
