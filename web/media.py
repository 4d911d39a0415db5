"""JSON media through orjson: fast, and datetimes as ISO 8601 UTC with a Z."""

from __future__ import annotations

import functools
from typing import Any

import falcon
import orjson
from falcon import media

DUMP_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS

dumps = functools.partial(orjson.dumps, option=DUMP_OPTIONS)


def json_handler() -> media.JSONHandler:
    """The JSON handler for requests and responses."""
    return media.JSONHandler(dumps=dumps, loads=orjson.loads)


def install(app: falcon.App[Any, Any]) -> None:
    """Use orjson for request and response media."""
    handler = json_handler()
    app.req_options.media_handlers = media.Handlers(
        {falcon.MEDIA_JSON: handler, falcon.MEDIA_URLENCODED: media.URLEncodedFormHandler()}
    )
    app.resp_options.media_handlers = media.Handlers({falcon.MEDIA_JSON: handler})
