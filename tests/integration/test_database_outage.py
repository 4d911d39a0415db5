"""The API while PostgreSQL is unreachable: 503 with Retry-After and the error shape,
nothing internal in the body, and service again once the database is back.

The app reaches the real PostgreSQL through a TCP proxy that the test cuts.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import falcon.testing
import pytest
from peewee import Database

from control.auth.models import User
from control.auth.passwords import hash_secret
from control.auth.roles import Role
from control.db.database import connect_url, database
from control.kv.memory import MemoryStore
from control.settings import load_settings
from tests.factories import make_app
from tests.tcp_proxy import TcpProxy
from web.app import create_app
from web.wiring import build_services

pytestmark = [pytest.mark.services, pytest.mark.parametrize("db", ["postgresql"], indirect=True)]

EMAIL = "ops@example.com"
PASSWORD = "a long and correct password"
LEAKS = ("psycopg2", "OperationalError", "5432", "server closed", "Traceback", "SELECT")


@pytest.fixture
def proxied(db: Database, postgresql_url: str) -> Iterator[TcpProxy]:
    """The process's database, reached through a proxy the test can cut."""
    User.create(email=EMAIL, password_hash=hash_secret(PASSWORD), role=Role.OPERATOR)
    make_app(id="scraper_outage")
    target = urlparse(postgresql_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        via_proxy = connect_url(target._replace(netloc=f"postgres@127.0.0.1:{proxy.port}").geturl())
        database.initialize(via_proxy)
        try:
            yield proxy
        finally:
            via_proxy.close_all()
            database.initialize(db)


def login(client: falcon.testing.TestClient) -> falcon.testing.Result:
    return client.simulate_post(
        "/api/v1/auth/token", json={"username": EMAIL, "password": PASSWORD}
    )


def assert_unavailable(result: falcon.testing.Result) -> None:
    assert result.status_code == 503, result.text
    assert result.headers["retry-after"] == "5"
    assert result.json["error"]["code"] == "SERVICE_UNAVAILABLE"
    for leak in LEAKS:
        assert leak not in result.text


def test_an_outage_is_503_and_service_resumes(proxied: TcpProxy):
    settings = load_settings(environment="test", auth_rate_limit_per_minute=100_000)
    app = create_app(
        settings, bind_database=False, services=build_services(settings, store=MemoryStore())
    )
    client = falcon.testing.TestClient(app)
    token = login(client).json["data"]["access_token"]
    authed = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert authed.simulate_get("/api/v1/apps/scraper_outage").status_code == 200

    proxied.down()
    assert_unavailable(login(client))
    assert_unavailable(authed.simulate_get("/api/v1/apps/scraper_outage"))
    assert_unavailable(authed.simulate_post("/api/v1/apps/scraper_outage/start"))

    proxied.up()
    assert authed.simulate_get("/api/v1/apps/scraper_outage").status_code == 200
    assert login(client).status_code == 200
