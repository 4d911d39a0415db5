"""How each kind of scheduled app behaves: its phases, run lengths, volumes and failures."""

from __future__ import annotations

from dataclasses import dataclass

from control.demo.seed.catalogue import table


@dataclass(frozen=True)
class Kind:
    """How one kind of app behaves: its phases, run lengths, volumes and failures."""

    phases: tuple[tuple[str, float], ...]  # (function, share of the run)
    main: int  # the phase whose progress is the run's record progress
    duration: tuple[float, float]  # typical run length, seconds (log-uniform)
    volume: tuple[int, int]  # typical records per run (log-uniform)
    errors: tuple[str, ...]  # why a run fails, formatted with the app's context
    fatal: tuple[str, ...]  # why the app turned FATAL, formatted likewise


# One phase per line, in order: kind | function | share of the run. A * marks each kind's
# main phase, whose progress is the run's record progress.
_PHASES = """
scraper | fetch_listing        | 0.3
scraper | fetch_details        | 0.4
scraper | process_records *    | 0.2
scraper | store_results        | 0.1
etl     | extract_source       | 0.3
etl     | process_records *    | 0.5
etl     | store_results        | 0.2
doc     | fetch_documents      | 0.1
doc     | parse_documents *    | 0.55
doc     | extract_entities     | 0.25
doc     | store_results        | 0.1
monitor | check_sources *      | 0.7
monitor | evaluate_thresholds  | 0.3
"""

# kind -> (typical run length in seconds, typical records per run), both log-uniform
_SIZES: dict[str, tuple[tuple[float, float], tuple[int, int]]] = {
    "scraper": ((240, 2400), (400, 12_000)),
    "etl": ((45, 1500), (2_000, 150_000)),
    "doc": ((300, 1500), (2, 10)),
    "monitor": ((4, 90), (10, 150)),
}

_ERRORS = {
    "scraper": (
        "TimeoutError: no response from {host} after 3 retries (30s each)",
        "HTTPError: 503 Service Unavailable for {url}/search?page={page}",
        "ParserError: element 'table#results' not found on page {page}",
        "ProxyError: proxy pool exhausted (0/50 healthy proxies)",
        "HTTPError: 429 Too Many Requests from {host}; retry budget exhausted",
    ),
    "etl": (
        "OperationalError: could not connect to server warehouse-db:5432 (connection refused)",
        'IntegrityError: duplicate key value violates unique constraint "{stem}_pkey"',
        "ValidationError: {pct}% of rows failed the schema checks (threshold 5%)",
        "MemoryError: batch of {batch} rows exceeded the worker's 4 GiB limit",
    ),
    "doc": (
        "OCRError: tesseract exited with code 137 (out of memory) on {ref}",
        "TimeoutError: NER service did not answer within 120s",
        "StorageError: upload of {ref} to s3://dc-documents failed: SlowDown",
    ),
    "monitor": (
        "ConnectionError: metrics endpoint http://{agent}:9100/metrics unreachable",
        "QueryTimeout: freshness query exceeded 60s",
    ),
}

_FATAL = {
    "scraper": (
        "Login wall: {url}/search now redirects to /login (HTTP 302)",
        "Site layout changed: selector 'table#results' matches nothing on the listing page",
        "Source API retired: GET {url}/v1/search returns 410 Gone",
    ),
    "etl": (
        "Source table {source} no longer exists (relation does not exist)",
        "Role dc_loader lost the INSERT privilege on {table}",
    ),
    "doc": ("OCR model {lang}.traineddata missing on {agent}; reinstall the language pack",),
    "monitor": ("Metrics endpoint returns 404 after the agent upgrade; check the exporter path",),
}


def _kinds() -> dict[str, Kind]:
    phases: dict[str, list[tuple[str, float]]] = {kind: [] for kind in _SIZES}
    main: dict[str, int] = {}
    for kind, function, share in table(_PHASES):
        if function.endswith("*"):
            main[kind] = len(phases[kind])
        phases[kind].append((function.removesuffix("*").strip(), float(share)))
    return {
        kind: Kind(tuple(phases[kind]), main[kind], *_SIZES[kind], _ERRORS[kind], _FATAL[kind])
        for kind in _SIZES
    }


# The scheduled kinds (``scraper``, ``etl``, ``doc``, ``monitor``) by name.
KINDS = _kinds()
