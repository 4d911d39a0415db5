"""An API client over the bound test database."""

from __future__ import annotations

import falcon.testing
import pytest

from control.settings import Settings
from web.app import create_app


@pytest.fixture
def app(settings: Settings):
    return create_app(settings, bind_database=False)


@pytest.fixture
def client(app) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)
