"""Reading spreadsheets (XLSX via openpyxl in read-only mode, CSV in UTF-8 or GB18030) and storing uploads."""
from __future__ import annotations

import csv
import io
import itertools
import re
import uuid
import zipfile
import zlib
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
        try:
            reader, part = _first_sheet(path, cells=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise UnreadableFile(str(exc)) from exc
        try:
            # a damaged sheet shows only once it is read (its XML or its compressed data), as the other damage does
            for row in _unsized_sheet(reader, part).iter_rows(values_only=True):
                yield [_cell(v) for v in row]
        except Exception as exc:
            raise UnreadableFile(str(exc)) from exc
        finally:
            reader.archive.close()
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


# In a sheet's XML: the start of a row, and a value with text in it (`<v>` of a cell, `<t>` of an inline string),
# each with or without a namespace prefix. `</row>`, `<rowBreaks>`, a formatted cell with no value (`<c s="1"/>`)
# and a formula with no cached result (`<v></v>`) do not match.
_ROW_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?[vt](?:\s[^>]*)?>[^<]")


def count_rows(path: Path, limit: int) -> int:
    """The data rows (not the header) that hold at least one value; a number over `limit` when there are more.

    For an .xlsx this splits the first sheet's XML at its rows and looks for a value in each instead of reading
    every cell with openpyxl: an import counts its rows before it writes any (to refuse a file over the cap whole),
    and that full parse cost as much as the import's own validation (B7 in bench/README.md). The header is the
    first row with a value. A row whose only values are blanks counts here though `rows` yields it empty and the
    import skips it: the count is the most the import will read."""
    if path.suffix != ".xlsx":
        data = (row for row in itertools.islice(rows(path), 1, None) if any(row))
        return sum(1 for _row in itertools.islice(data, limit + 1))
    try:
        reader, part = _first_sheet(path)
        source = reader.archive.open(part)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise UnreadableFile(str(exc)) from exc
    found, in_row, carry = 0, False, b""
    try:
        while found <= limit + 1:  # the header is among them
            chunk = source.read(1 << 20)
            parts = _ROW_START.split(carry + chunk)
            # the last part may be a row (or a row's start tag) the next chunk goes on with: it waits for it
            done, carry = (parts, b"") if not chunk else (parts[:-1], parts[-1])
            rows_done = done if in_row else done[1:]  # before the first row start: the sheet's preamble
            found += sum(1 for part in rows_done if _VALUE.search(part))
            in_row = in_row or len(parts) > 1
            if not chunk:
                break
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(str(exc)) from exc
    finally:
        source.close()
        reader.archive.close()
    return max(found - 1, 0)


def _first_sheet(path: Path, cells: bool = False):
    """(openpyxl's reader, name of the part) of the workbook's first worksheet, found as load_workbook
    finds it; with `cells`, the reader also has the shared strings and the number formats (which numbers are dates)
    its cells need. The count needs neither: a big sheet's shared strings take longer to read than it."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(path, read_only=True, data_only=True)
    try:
        reader.read_manifest()
        reader.read_workbook()
        for _sheet, rel in reader.parser.find_sheets():
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
                if cells:
                    reader.read_strings()
                    apply_stylesheet(reader.archive, reader.wb)
                return reader, rel.target
        raise UnreadableFile("no worksheet")
    except BaseException:
        reader.archive.close()
        raise


def _unsized_sheet(reader, part: str):
    """openpyxl's read-only sheet of `part`, without the size its <dimension> states. That size is only a hint some
    writers get wrong, and openpyxl stopped reading at it (the rows past a wrong one were never imported); where a
    sheet states none, opening it read the whole sheet once just to find out (a fifth of the parse, B7)."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Unsized(ReadOnlyWorksheet):
        def _get_size(self):
            pass  # min_row 1, max_row and max_column None: iter_rows reads to the end

    return Unsized(reader.wb, "", part, reader.shared_strings)


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
