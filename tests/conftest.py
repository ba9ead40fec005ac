"""StoreCRM's own suite uses the same pytest plugin (`storecrm.testing`) that plugin authors get.

The example plugin under tests/example_plugins is installed into the environment for the
session like any third-party package (not editable, so its entry point is visible to this
very process), and removed again at the end.
"""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "example_plugins" / "storecrm-carwash"
os.environ.setdefault("STORECRM_VAR_DIR", str(ROOT / "var"))


def _pip(*args):
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def pytest_configure(config):
    # built from a fresh copy: setuptools builds in the source folder (build/, *.egg-info), and a folder left there by
    # another run (or a run in another worktree) made installs that lacked the plugin's templates and migrations
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / EXAMPLE.name
        shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        _pip("install", "--no-deps", "--no-build-isolation", "--force-reinstall", str(source))
    importlib.invalidate_caches()


def pytest_unconfigure(config):
    _pip("uninstall", "-y", "storecrm-carwash")
