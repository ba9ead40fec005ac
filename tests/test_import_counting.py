"""The import job counts a sheet's rows (to refuse a file over the cap before writing any) by scanning the sheet's XML
(imports.files.count_rows); it must agree with the rows the job then reads, or count a row of blanks at most."""
import io
import zipfile

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font


def _saved(book, tmp_path, name="book.xlsx"):
    path = tmp_path / name
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def _with_sheet(source, target, change):
    """Copy the workbook `source` to `target` with its first sheet's XML passed through `change` (bytes -> bytes)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            copy.writestr(item, change(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return target


def _read(path):
    from storecrm.imports import files

    return sum(1 for number, row in enumerate(files.rows(path), start=1) if number > 1 and any(row))


def test_a_sheet_with_formats_gaps_formulas_and_markup_in_text(tmp_path):
    from storecrm.imports import files

    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机"])
    sheet.append(["王小明", "13800138000"])
    sheet["A5"] = "<row>李雷</row> & <v>"  # text that looks like the markup
    sheet["B8"].font = Font(bold=True)  # a formatted cell with no value: not a row
    sheet["A10"] = 0
    sheet["A11"] = "=1+1"  # no cached result: openpyxl reads None, the scan sees an empty <v>
    sheet["C12"] = "x" * 3000
    other = book.create_sheet("第二页")
    other.append(["only", "the first sheet counts"])
    path = _saved(book, tmp_path)
    assert files.count_rows(path, 1000) == _read(path) == 4


def test_a_row_of_blanks_may_count_but_never_less_than_the_job_reads(tmp_path):
    from storecrm.imports import files

    book = Workbook()
    book.active.append(["姓名"])
    book.active.append(["   "])  # read as empty (values are stripped), counted: the count is the most it reads
    book.active.append(["韩梅梅"])
    path = _saved(book, tmp_path)
    assert (files.count_rows(path, 1000), _read(path)) == (2, 1)


def test_the_count_stops_past_the_limit_on_a_big_write_only_sheet(tmp_path):
    from storecrm.imports import files

    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(["姓名", "备注"])
    for n in range(3000):  # rows long enough that some cross the scan's 1 MB chunks
        sheet.append([f"客户{n}", "备注" * (n % 400)])
    path = _saved(book, tmp_path)
    assert files.count_rows(path, 5000) == _read(path) == 3000
    assert 40 < files.count_rows(path, 40) <= 3000


def test_a_prefixed_namespace_is_read_too(tmp_path):
    """Some writers (.NET's Open XML SDK) write <x:row> and <x:c>."""
    from storecrm.imports import files

    book = Workbook()
    for row in (["姓名"], ["甲"], ["乙"]):
        book.active.append(row)
    plain = _saved(book, tmp_path, "plain.xlsx")

    def prefix(data):
        head, body = data.decode().split("<sheetData>", 1)
        body = body.replace("<", "<x:").replace("<x:/", "</x:")
        head = head.replace("<worksheet ", '<worksheet xmlns:x="http://schemas.openxmlformats.org/'
                                            'spreadsheetml/2006/main" ', 1)
        return (head + "<x:sheetData>" + body).encode()

    prefixed = _with_sheet(plain, tmp_path / "prefixed.xlsx", prefix)
    assert files.count_rows(prefixed, 100) == files.count_rows(plain, 100) == 2


def test_a_csv_counts_its_non_empty_rows(tmp_path):
    from storecrm.imports import files

    path = tmp_path / "c.csv"
    path.write_text("姓名,手机\n王小明,138\n,\n李雷,139\n", encoding="utf-8")
    assert files.count_rows(path, 100) == 2 and files.count_rows(path, 1) == 2


def test_a_damaged_file_is_unreadable(tmp_path):
    from storecrm.imports import files

    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(files.UnreadableFile):
        files.count_rows(path, 100)


def test_a_sheet_whose_dimension_understates_it_is_read_to_the_end(tmp_path):
    """<dimension> is a hint some writers get wrong; openpyxl's read-only sheet stopped at it and the rows past it
    were never imported, without an error."""
    from storecrm.imports import files

    book = Workbook()
    for n in range(10):
        book.active.append([f"客户{n}", f"1380013800{n}"])
    honest = _saved(book, tmp_path, "honest.xlsx")

    def understate(data):
        assert b'<dimension ref="A1:B10"' in data
        return data.replace(b'<dimension ref="A1:B10"', b'<dimension ref="A1:B3"')

    lying = _with_sheet(honest, tmp_path / "lying.xlsx", understate)
    assert [row[0] for row in files.rows(lying)] == [f"客户{n}" for n in range(10)]
    assert files.count_rows(lying, 100) == _read(lying) == 9


def test_a_sheet_damaged_past_its_first_rows_is_unreadable_to_the_reader_and_counted_up_to_the_damage(tmp_path):
    from storecrm.imports import files

    book = Workbook()
    for n in range(50):
        book.active.append([f"客户{n}", f"1380013800{n % 10}"])
    good = _saved(book, tmp_path, "good.xlsx")
    # cut off inside the rows: not well-formed XML from there on
    bad = _with_sheet(good, tmp_path / "bad.xlsx", lambda data: data[:len(data) // 2])
    with pytest.raises(files.UnreadableFile):
        list(files.rows(bad))
    assert 0 < files.count_rows(bad, 100) < 50  # the count reads no XML structure: it counts what is there
