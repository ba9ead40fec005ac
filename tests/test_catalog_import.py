"""The catalog through the import engine: an exported workbook comes back unchanged, and a supplier's price list
updates items by SKU and adds the new ones; bad rows are reported, the rest are kept."""
import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import text

from tests.test_import_mappings import _guessed, _upload
from tests.test_imports import _run_worker

KIND = "catalog.items"


def _sheet(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _run(b, data):
    resp = _upload(b, "alpha", data, kind=KIND)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    run_url = resp.headers["Location"]
    page = b.get(run_url).get_data(as_text=True)
    started = b.post(run_url, {**_guessed(page), "start": "1"})
    assert started.status_code == 302, started.get_data(as_text=True)[-1500:]
    _run_worker()


def test_a_price_list_upserts_items_by_sku_and_the_export_reads_back(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    _run(b, _sheet([["SKU", "名称", "类型", "品牌", "分类", "单位", "标价", "成本", "税率", "序列号管理"],
                    ["AMP-1", "DSP 功放", "产品", "丹拿", "功放", "台", "4999", "2600", "13%", "是"],
                    ["LAB-1", "安装工时", "服务", "", "", "小时", "300", "0", "0.06", "否"],
                    ["BAD-1", "坏价格", "产品", "", "", "", "-1", "", "", ""],
                    ["BAD-2", "坏类型", "手机壳", "", "", "", "1", "", "", ""]]))
    with system_db.connect() as conn:
        items = conn.execute(text("SELECT sku, kind, list_price::text, tax_rate::text, serial_tracked FROM "
                                  "catalog_items ORDER BY sku")).all()
        errors = dict(conn.execute(text("SELECT row_number, messages FROM import_row_errors ORDER BY 1")).all())
    assert [tuple(i) for i in items] == [("AMP-1", "product", "4999.00", "0.1300", True),
                                         ("LAB-1", "service", "300.00", "0.0600", False)]
    assert "list_price" in errors[4] and "kind" in errors[5]

    exported = b.client.get("/t/alpha/catalog/export.xlsx")
    assert exported.status_code == 200
    rows = [list(r) for r in load_workbook(io.BytesIO(exported.data)).active.iter_rows(values_only=True)]
    assert rows[1][:7] == ["AMP-1", "DSP 功放", "产品", "丹拿", "功放", "台", "4999.00"]
    rows[1][6] = "4799.00"  # the supplier's new price; everything else comes back as it left
    _run(b, _sheet(rows))
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*), min(list_price)::text FROM catalog_items "
                                 "WHERE sku = 'AMP-1'")).one() == (1, "4799.00")
        assert conn.execute(text("SELECT count(*) FROM catalog_items")).scalar() == 2
        assert conn.execute(text("SELECT updated_count FROM import_runs ORDER BY id DESC LIMIT 1")).scalar() == 2
