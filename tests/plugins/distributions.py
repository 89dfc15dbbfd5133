"""Install plugin distributions into a temporary sys.path entry, and take them away again.

A distribution here is what pip leaves in site-packages: the package and a ``.dist-info``
folder with METADATA and entry_points.txt; importlib.metadata finds it like any other.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.plugins.hookspecs import ENTRY_POINT_GROUP


class SitePackages:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def install(self, dist: str, entry: str, module: str, source: str, version: str = "1.0.0") -> None:
        """A distribution ``dist`` whose module ``module`` is the plugin ``entry``."""
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        self._dist_info(dist, entry, module, version)

    def install_package(self, dist: str, entry: str, package: Path, version: str = "1.0.0") -> None:
        """A distribution ``dist`` whose package (the directory ``package``, copied) is the plugin ``entry``."""
        shutil.copytree(package, self.root / package.name, ignore=shutil.ignore_patterns("__pycache__"))
        self._dist_info(dist, entry, package.name, version)

    def _dist_info(self, dist: str, entry: str, module: str, version: str) -> None:
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry} = {module}\n")
        self.modules.append(module)
        importlib.invalidate_caches()


@pytest.fixture
def site_packages(tmp_path: Path) -> Iterator[SitePackages]:
    """A fresh directory on sys.path for this test only; its modules are unloaded afterwards."""
    root = tmp_path / "site-packages"
    root.mkdir()
    site = SitePackages(root)
    sys.path.insert(0, str(root))
    try:
        yield site
    finally:
        sys.path.remove(str(root))
        for module in site.modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
