"""Catalog: what a chain sells — products, labour, parts and packages, with prices per store."""
