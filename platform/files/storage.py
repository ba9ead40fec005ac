"""Where file bytes live. Local disk under var/uploads by default; an S3-compatible backend implements the same
four methods. Keys always start with the tenant id, so a tenant's files can be listed and removed together."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

from flask import current_app


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def read(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> Path:
        """A path on this machine holding the bytes (a remote backend downloads to a temporary file)."""

    def delete_prefix(self, prefix: str) -> None: ...


class LocalStorage:
    def __init__(self, root: Path):
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:  # keys are made by us, but never let one escape the root
            raise ValueError(f"bad storage key {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see half a file

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def storage() -> Storage:
    app = current_app._get_current_object()
    backend = app.extensions.get("storecrm.storage")
    if backend is None:
        backend = app.extensions["storecrm.storage"] = LocalStorage(app.config["STORECRM"].var_dir / "uploads")
    return backend
