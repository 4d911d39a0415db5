"""The floor under ``GET /api/v1/apps``: the least an API request can cost on our stack.

A Falcon ASGI app with one route that does what every list request must: hand one call
to a worker thread (``asyncio.to_thread``, as ``web/concurrency.run_db`` does), send one
statement on a psycopg2 connection of that thread, and answer 20 items as JSON with
orjson. No middleware, no authentication, no validation, no ORM. ``bench/apps_list.py``
serves it with the same uvicorn (uvloop, httptools) as ``dcctl serve`` and measures it
with the same client, so "server CPU per request" has a floor to be read against.

    uvicorn --app-dir bench _floor_app:app     (DC_BENCH_FLOOR_DATABASE_URL set)
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import falcon
import falcon.asgi
import orjson
import psycopg2

DATABASE_URL = os.environ.get("DC_BENCH_FLOOR_DATABASE_URL", "")
_local = threading.local()


def _one_statement() -> list[tuple[Any, ...]]:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = psycopg2.connect(DATABASE_URL)
        conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        return cur.fetchall()


class Floor:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        rows = await asyncio.to_thread(_one_statement)
        items = [{"id": f"app_{i:05d}", "group": "floor", "value": rows[0][0]} for i in range(20)]
        resp.data = orjson.dumps({"data": items, "meta": {"page": 1, "per_page": 20}})
        resp.content_type = falcon.MEDIA_JSON


app = falcon.asgi.App()
app.add_route("/floor", Floor())
