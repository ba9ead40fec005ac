"""Packages are listed here because setup.cfg maps folders to other names (platform/ -> storecrm).

Folders that hold only data (templates, translations, static files, the plugin skeleton) are listed as packages
too, when their names are importable: setuptools treats such a folder as a namespace package, and one that is not
listed would be dropped in a future release ("Package would be ignored" warnings). Their files are the
package_data of setup.cfg. Folders whose names Python cannot import (bootstrap-5.3.9) are plain data of their parent.
"""
import configparser
import os

from setuptools import setup


def mapped_packages():
    cfg = configparser.ConfigParser()
    cfg.read("setup.cfg")
    mapping = {}
    for line in cfg["options"]["package_dir"].strip().splitlines():
        name, _, folder = (part.strip() for part in line.partition("="))
        mapping[name] = folder
    packages = []
    for name, folder in mapping.items():
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__")) and d not in ("node_modules",)]
            rel = os.path.relpath(root, folder)
            if rel != "." and not all(part.isidentifier() for part in rel.split(os.sep)):
                dirs[:] = []
                continue  # not importable (bootstrap-5.3.9): its files ship as package_data of the parent
            pkg = name if rel == "." else name + "." + rel.replace(os.sep, ".")
            # nested mappings (storecrm.plugins) own their folders
            if rel == "." or not any(pkg == other or pkg.startswith(other + ".") for other in mapping if other != name and other.startswith(name + ".")):
                packages.append(pkg)
    return sorted(set(packages))


setup(packages=mapped_packages())
