"""API clients over the bound test database, with a user of each role."""

from __future__ import annotations

from collections.abc import Callable

import falcon.testing
import pytest

from control.auth.models import User
from control.auth.roles import Role
from control.auth.tokens import new_id
from control.kv.memory import MemoryStore
from control.settings import Settings
from web.app import create_app
from web.wiring import Services, build_services

PASSWORD = "correct horse battery staple"


@pytest.fixture
def services(settings: Settings) -> Services:
    return build_services(settings, store=MemoryStore())


@pytest.fixture
def tasks(stub_tasks):
    """Where the app sends work: the in-process broker set up (a test may patch ``send``)."""
    return stub_tasks


@pytest.fixture
def app(settings: Settings, services: Services, tasks):
    return create_app(settings, bind_database=False, services=services, tasks=tasks)


@pytest.fixture(scope="session")
def password_hash() -> str:
    from control.auth.passwords import hash_secret

    return hash_secret(PASSWORD)


@pytest.fixture
def make_user(db, password_hash: str) -> Callable[..., User]:
    def make(role: Role = Role.VIEWER, email: str | None = None, **fields) -> User:
        return User.create(
            email=email or f"{role.value}-{new_id()[:8].lower()}@example.com",
            password_hash=password_hash,
            role=role,
            **fields,
        )

    return make


@pytest.fixture
def token_for(services: Services) -> Callable[[User], str]:
    """A valid access token for a user, as a login would issue it."""

    def issue(user: User) -> str:
        return services.tokens.issue(
            subject=user.email,
            role=user.role,
            subject_type="user",
            use="access",
            session_id=new_id(),
        ).token

    return issue


@pytest.fixture
def anonymous(app) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


@pytest.fixture
def client_as(app, make_user, token_for) -> Callable[[Role], falcon.testing.TestClient]:
    def as_role(role: Role) -> falcon.testing.TestClient:
        token = token_for(make_user(role))
        return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})

    return as_role


@pytest.fixture
def client(client_as) -> falcon.testing.TestClient:
    """An admin's client: tests of data shapes need no role games."""
    return client_as(Role.ADMIN)
