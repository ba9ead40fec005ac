"""The demo tenant `dealer` (filled in below)."""
from datetime import time

STORES = ({"code": "SH01", "name": "浦西旗舰店", "city": "上海", "opens_at": time(8, 30), "closes_at": time(18, 0)},
          {"code": "SH02", "name": "浦东店", "city": "上海", "opens_at": time(8, 30), "closes_at": time(18, 0)})


def load_demo(ctx):
    return None
