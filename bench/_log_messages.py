"""The log records the benchmarks write: what collectors say, and how often.

``draw_message`` draws one (level, message): 1% mention a timeout (60% WARNING, 30%
ERROR, 10% INFO), 0.01% a deadlock (ERROR); the rest are 80% INFO, 12% DEBUG, 6%
WARNING and 2% ERROR. ``logs_query.py`` and ``_fleet_data.py`` search these words.
"""

from __future__ import annotations

import random

SOURCES = ("registry", "gazette", "courts", "procurement", "news")
DOCS = ("filing", "notice", "judgment", "tender", "article")
HOSTS = ("api.registry.example", "data.gazette.example", "search.courts.example")
FIELDS = ("date", "company_id", "title", "amount")
INFO = (
    "Fetched {n} records from {source} page {p}",
    "Parsed {n} {doc} documents in {ms} ms",
    "Saved batch {b} ({n} rows) to staging",
    "GET https://{host}/api/v2/{doc}s?page={p} -> 200 in {ms} ms",
    "Skipped {n} duplicate {doc} records",
    "Run progress {p}/400 ({pct}%)",
    "Session refreshed for {source}",
)
WARNING = (
    "Retrying {source} page {p} after HTTP 503",
    "Slow response from {host}: {ms} ms",
    "Rate limited by {source}, sleeping {s} s",
    "Validation failed for {doc} {n}: missing field {field}",
)
ERROR = (
    "Failed to parse {doc} {n}: unexpected token at offset {ms}",
    "Giving up on {source} page {p} after {r} retries",
)
TIMEOUT = (
    "Timeout after {ms} ms fetching {source} page {p}",
    "Read timeout from {host} (attempt {r}/5)",
    "Connection timeout to {host}; retrying in {s} s",
    "{doc} {n} skipped: upstream timeout",
)
RARE = "Database deadlock detected while saving batch {b}"


def draw_message(rng: random.Random) -> tuple[int, str]:
    """One (level, message) by the distribution above."""
    values = {
        "n": rng.randint(1, 50_000),
        "p": rng.randint(1, 400),
        "b": rng.randint(1, 900),
        "ms": rng.randint(5, 30_000),
        "s": rng.randint(1, 120),
        "r": rng.randint(1, 5),
        "pct": rng.randint(0, 100),
        "source": rng.choice(SOURCES),
        "doc": rng.choice(DOCS),
        "host": rng.choice(HOSTS),
        "field": rng.choice(FIELDS),
    }
    draw = rng.random()
    if draw < 0.0001:
        level, template = 40, RARE
    elif draw < 0.0101:
        level = rng.choices((30, 40, 20), weights=(6, 3, 1))[0]
        template = rng.choice(TIMEOUT)
    else:
        draw = rng.random()
        if draw < 0.80:
            level, template = 20, rng.choice(INFO)
        elif draw < 0.92:
            level, template = 10, "state page={p} cursor={n:x} batch={b}"
        elif draw < 0.98:
            level, template = 30, rng.choice(WARNING)
        else:
            level, template = 40, rng.choice(ERROR)
    return level, template.format(**values)
