"""A small HTTP load generator, run as its own process so it does not share the app's interpreter.

python loadgen.py URL --requests N --concurrency C --warmup W [--header 'Name: value']
prints JSON: {"count", "errors", "seconds", "rps", "p50_ms", "p95_ms", "statuses"}.
Each thread keeps one HTTP/1.1 keep-alive connection, like a browser or an API client does.
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from urllib.parse import urlsplit


def _worker(url, headers, n, out, errors, statuses):
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    for _ in range(n):
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            if resp.status >= 400:
                errors.append(resp.status)
        except (OSError, http.client.HTTPException):
            errors.append("io")
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            continue
        out.append(time.perf_counter() - start)
    conn.close()


def run(url, headers, requests, concurrency):
    latencies, errors, statuses = [], [], {}
    per = max(1, requests // concurrency)
    threads = [threading.Thread(target=_worker, args=(url, headers, per, latencies, errors, statuses))
               for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    latencies.sort()
    return {
        "count": len(latencies), "errors": len(errors), "seconds": round(seconds, 3),
        "rps": round(len(latencies) / seconds, 1) if seconds else 0,
        "p50_ms": round(statistics.median(latencies) * 1000, 3) if latencies else None,
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 3) if latencies else None,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    run(args.url, headers, args.warmup, min(args.concurrency, args.warmup))
    print(json.dumps(run(args.url, headers, args.requests, args.concurrency)))


if __name__ == "__main__":
    main()
