"""Every forged, stale or misused token is refused with the same generic 401."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import falcon.testing
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from control.auth.roles import Role
from control.kv.memory import MemoryStore
from control.settings import load_settings
from tests.conftest import TEST_SECRET
from web.app import create_app
from web.wiring import build_services

ISSUER, AUDIENCE = "data-collector", "data-collector-api"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(user_email: str, **overrides) -> dict:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    base = {
        "sub": user_email,
        "role": "admin",
        "type": "user",
        "use": "access",
        "sid": "session-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "jti": "jti-1234567890",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(payload: dict, alg: str) -> str:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}."


@pytest.fixture
def user(make_user):
    return make_user(Role.ADMIN, email="admin@example.com")


def me(anonymous: falcon.testing.TestClient, token: str) -> falcon.testing.Result:
    return anonymous.simulate_get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def assert_generic_401(result: falcon.testing.Result) -> None:
    assert result.status_code == 401
    assert result.headers["www-authenticate"] == 'Bearer realm="data-collector"'
    error = result.json["error"]
    assert (error["code"], error["message"], error["details"]) == (
        "UNAUTHORIZED",
        "Invalid or expired token.",
        [],
    )


def sign(payload: dict, key: str = TEST_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg)


def test_a_well_formed_token_works(anonymous, user):
    r = me(anonymous, sign(claims(user.email)))
    assert r.status_code == 200
    assert r.json["data"]["subject"] == "admin@example.com"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_case(anonymous, user, alg):
    assert_generic_401(me(anonymous, unsigned(claims(user.email), alg)))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_disallowed_algorithm(anonymous, user, alg):
    assert_generic_401(me(anonymous, sign(claims(user.email), alg=alg)))


def test_wrong_secret(anonymous, user):
    assert_generic_401(me(anonymous, sign(claims(user.email), key="x" * 40)))


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "aud", "sub", "jti"])
def test_each_required_claim_missing(anonymous, user, missing):
    assert_generic_401(me(anonymous, sign(claims(user.email, **{missing: None}))))


@pytest.mark.parametrize("issuer", ["data-collector ", "data-collector.evil", "Data-Collector", ""])
def test_look_alike_issuer(anonymous, user, issuer):
    assert_generic_401(me(anonymous, sign(claims(user.email, iss=issuer))))


@pytest.mark.parametrize(
    "audience", ["data-collector", "data-collector-api:refresh", ["data-collector-api", "x"]]
)
def test_wrong_audience(anonymous, user, audience):
    assert_generic_401(me(anonymous, sign(claims(user.email, aud=audience))))


def test_expired_within_leeway_is_accepted_beyond_is_not(anonymous, user):
    now = int(dt.datetime.now(dt.UTC).timestamp())
    assert me(anonymous, sign(claims(user.email, exp=now - 10))).status_code == 200
    assert_generic_401(me(anonymous, sign(claims(user.email, exp=now - 120))))


def test_refresh_token_used_as_access_token(anonymous, user, services):
    refresh = services.tokens.issue(
        subject=user.email, role=user.role, subject_type="user", use="refresh", session_id="s"
    )
    assert_generic_401(me(anonymous, refresh.token))
    # and the 'use' claim alone is not enough: the audience differs too
    assert_generic_401(me(anonymous, sign(claims(user.email, use="refresh"))))


def test_access_token_used_as_refresh_token(anonymous, user, services):
    access = services.tokens.issue(
        subject=user.email, role=user.role, subject_type="user", use="access", session_id="s"
    )
    r = anonymous.simulate_post("/api/v1/auth/refresh", json={"refresh_token": access.token})
    assert r.status_code == 401


def test_revoked_jti(anonymous, user, services):
    token = sign(claims(user.email, jti="revoked-jti-1"))
    assert me(anonymous, token).status_code == 200
    services.revocations.revoke("revoked-jti-1", dt.datetime(2099, 1, 1))
    assert_generic_401(me(anonymous, token))


def test_token_of_unknown_or_disabled_user(anonymous, user):
    assert_generic_401(me(anonymous, sign(claims("ghost@example.com"))))
    user.disabled = True
    user.save()
    assert_generic_401(me(anonymous, sign(claims(user.email))))


def test_unknown_role_or_subject_type(anonymous, user):
    assert_generic_401(me(anonymous, sign(claims(user.email, role="root"))))
    assert_generic_401(me(anonymous, sign(claims(user.email, type="robot"))))


@pytest.mark.parametrize("header", ["Basic YWRtaW46cGFzcw==", "Bearer", "Token abc", "bearer  "])
def test_malformed_authorization_header(anonymous, user, header):
    r = anonymous.simulate_get("/api/v1/auth/me", headers={"Authorization": header})
    assert r.status_code == 401


@pytest.fixture
def rsa_files(tmp_path: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "jwt.key"
    public = tmp_path / "jwt.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture
def rs_client(rsa_files, db):
    private, public = rsa_files
    settings = load_settings(
        jwt_algorithm="RS256", jwt_private_key_file=private, jwt_public_key_file=public
    )
    services = build_services(settings, store=MemoryStore())
    app = create_app(settings, bind_database=False, services=services)
    return falcon.testing.TestClient(app), services


def test_rs256_tokens_work(rs_client, user):
    client, services = rs_client
    token = services.tokens.issue(
        subject=user.email, role=user.role, subject_type="user", use="access", session_id="s"
    ).token
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert me(client, token).status_code == 200


def test_hs256_signed_with_the_rs_public_key(rs_client, rsa_files, user):
    client, _ = rs_client
    public_pem = rsa_files[1].read_bytes()
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims(user.email)).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    assert_generic_401(me(client, f"{header}.{body}.{signature}"))
