"""Reading spreadsheets (XLSX via openpyxl in read-only mode, CSV in UTF-8 or GB18030) and storing uploads."""
from __future__ import annotations

import csv
import io
import uuid
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

from ..files.storage import storage

MAX_BYTES = 20 * 1024 * 1024
# What an .xlsx may unpack to. XML packs about tenfold, so 20 MB can hide gigabytes; and openpyxl reads a whole
# workbook's shared strings, and a sheet that does not state its size (<dimension>), before the first row, in the
# request that opens it (measured: 142 MB unpacked took 8.5 s). 64 MB holds 200,000 rows of a typical customer
# sheet (about 300 bytes of XML a row) and opens in about 4 s at worst; wider files go as CSV, which streams.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"


class UnreadableFile(ValueError):
    pass


class UnpacksTooLarge(UnreadableFile):
    pass


def store_upload(tenant_id: int, filename: str, data: bytes) -> str:
    """Keep the file in the storage backend under <tenant>/imports/ with a random name; return its key."""
    suffix = ".xlsx" if data.startswith(XLSX_MAGIC) else ".csv"
    key = f"{tenant_id}/imports/{uuid.uuid4().hex}{suffix}"
    storage().put(key, data)
    return key


def open_path(key: str) -> Path:
    return storage().local_path(key)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers typed as numbers
    return str(value).strip()


def rows(path: Path) -> Iterator[list[str]]:
    """Every row (header first) as a list of strings."""
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise UnreadableFile(str(exc)) from exc
        try:
            sheet = book.worksheets[0]
            for row in sheet.iter_rows(values_only=True):
                yield [_cell(v) for v in row]
        finally:
            book.close()
        return
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile("not UTF-8 or GB18030 text")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:  # one column, or too little text to tell: plain commas
        dialect = csv.excel
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            yield [c.strip() for c in row]
    except csv.Error as exc:
        raise UnreadableFile(str(exc)) from exc


def check_upload(filename: str, data: bytes) -> None:
    if not data:
        raise UnreadableFile("empty")
    if len(data) > MAX_BYTES:
        raise UnreadableFile("too large")
    lower = (filename or "").lower()
    if data.startswith(XLSX_MAGIC):
        if not lower.endswith(".xlsx"):
            raise UnreadableFile("not an .xlsx name")
        try:  # the sizes a zip declares bound what zipfile (and so openpyxl) will ever unpack from it
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            raise UnreadableFile(str(exc)) from exc
        if unpacked > MAX_UNPACKED_BYTES:
            raise UnpacksTooLarge(unpacked)
        return
    if not lower.endswith((".csv", ".txt")):
        raise UnreadableFile("only .xlsx and .csv")
    if b"\x00" in data[:4096]:
        raise UnreadableFile("binary")
