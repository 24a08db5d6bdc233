"""Scrapes a running flowc's /metrics and /api/nodes over one kept-alive HTTP connection, every
INTERVAL seconds, until killed; appends a line to COUNT_FILE per answered /metrics scrape. One
connection and no process per scrape, as Prometheus does, so the scraper itself costs little CPU.

Usage: python3 bench/scrape.py HOST:PORT COUNT_FILE [INTERVAL]
"""
import http.client
import sys
import time

address, count_file = sys.argv[1], sys.argv[2]
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
host, port = address.rsplit(":", 1)
conn = None
with open(count_file, "a") as counts:
    while True:
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
            for path in ("/metrics", "/api/nodes"):
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if path == "/metrics" and response.status == 200:
                    counts.write("ok\n")
                    counts.flush()
        except (OSError, http.client.HTTPException):
            # Not listening yet (or gone): a new connection next time.
            if conn is not None:
                conn.close()
            conn = None
        time.sleep(interval)
