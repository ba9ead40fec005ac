"""StoreCRM's own suite uses the same pytest plugin (`storecrm.testing`) that plugin authors get."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("STORECRM_VAR_DIR", str(ROOT / "var"))
