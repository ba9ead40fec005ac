"""Bulk import of customers from XLSX/CSV (background job, resumable) and export of lists."""
