"""Argon2id hashing: format, parameters, rehash on login, no truncation."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from control.auth import passwords
from control.errors import InvalidInput


def test_stored_format_and_parameters_meet_owasp():
    stored = passwords.hash_secret("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$")
    params = dict(part.split("=") for part in stored.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024
    assert int(params["t"]) >= 2
    assert int(params["p"]) >= 1
    assert "correct horse" not in stored


def test_verify_right_and_wrong():
    stored = passwords.hash_secret("s3cret-passphrase")
    assert passwords.verify_secret(stored, "s3cret-passphrase")
    assert not passwords.verify_secret(stored, "s3cret-passphrasE")
    assert not passwords.verify_secret("not a hash", "x")
    assert not passwords.verify_secret(None, "anything")


def test_long_password_differing_only_in_its_last_character_is_rejected():
    base = "a" * 99
    stored = passwords.hash_secret(base + "x")
    assert passwords.verify_secret(stored, base + "x")
    assert not passwords.verify_secret(stored, base + "y")


@pytest.mark.parametrize(
    ("length", "ok"), [(7, False), (8, True), (128, True), (1024, True), (1025, False)]
)
def test_password_policy(length, ok):
    if ok:
        passwords.check_password_policy("p" * length)
    else:
        with pytest.raises(InvalidInput):
            passwords.check_password_policy("p" * length)


def test_weaker_hash_is_rehashed_on_login(db):
    from control.audit.context import AuditContext
    from control.auth.models import User
    from control.auth.roles import Role
    from control.auth.sessions import SessionService
    from control.auth.tokens import TokenService
    from control.kv.memory import MemoryStore
    from control.settings import load_settings
    from web.wiring import build_services

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID)
    user = User.create(
        email="old@example.com", password_hash=weak.hash("an old password"), role=Role.VIEWER
    )
    assert passwords.needs_rehash(user.password_hash)
    services = build_services(load_settings(), store=MemoryStore())
    assert isinstance(services.sessions, SessionService)
    assert isinstance(services.tokens, TokenService)
    services.sessions.login("old@example.com", "an old password", AuditContext(ip="127.0.0.1"))
    stored = User.get_by_id(user.id).password_hash
    assert stored != user.password_hash
    assert not passwords.needs_rehash(stored)
    assert passwords.verify_secret(stored, "an old password")
