"""Built-in vertical plugins; each is shaped like a third-party plugin package."""

if __name__ == "plugins":
    # pytest collects plugins/<name>/tests and, to set up the package above them, imports plugins/<name>/__init__.py by
    # its path as `plugins.<name>`. That would map every table of the plugin a second time; make `plugins.<name>` the
    # very module `storecrm.plugins.<name>` instead.
    import importlib
    import importlib.abc
    import importlib.util
    import sys

    class _SameModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            return importlib.util.spec_from_loader(name, self) if name.startswith("plugins.") else None

        def create_module(self, spec):
            return importlib.import_module("storecrm." + spec.name)

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, _SameModule())
