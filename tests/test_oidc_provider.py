"""The test identity provider (tests/oidc_provider.py) against a real OIDC client, no browser.

Authlib's requests OAuth2Session does the client side (PKCE S256, state, nonce, client auth);
the id_token is checked with joserfc against the provider's published JWKS. Real HTTP on
127.0.0.1, nothing mocked.
"""

from __future__ import annotations

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session as OAuth2Client
from authlib.integrations.base_client import OAuthError
from joserfc import jwt
from joserfc.jwk import KeySet

from oidc_provider import LocalIdP

REDIRECT = "http://127.0.0.1:9/oauth2callback"  # never called: the test reads the Location header


@pytest.fixture(scope="module")
def idp():
    users = {"Lena@Practice.example": {"name": "Lena Ortiz"}, "new@practice.example": {"email_verified": False}}
    with LocalIdP(users, redirect_uris=[REDIRECT]) as provider:
        yield provider


@pytest.fixture(scope="module")
def meta(idp):
    return httpx.get(idp.metadata_url).raise_for_status().json()


def _client(idp, **kw) -> OAuth2Client:  # Authlib's requests client
    return OAuth2Client(idp.client.client_id, idp.client.client_secret, scope="openid email profile",
                        redirect_uri=REDIRECT, code_challenge_method="S256", **kw)


def _authorize(meta, client, email, nonce, verifier) -> str:
    """Open the sign-in page, submit the email, return the redirect back to the app."""
    url, _state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                  nonce=nonce, prompt="select_account")
    page = httpx.get(url)
    assert page.status_code == 200 and 'id="email"' in page.text and ">Sign in</button>" in page.text
    back = httpx.post(url, data={"email": email})
    assert back.status_code == 302, back.text
    return back.headers["location"]


def _claims(meta, id_token, nonce) -> dict:
    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": meta["issuer"]},
                          aud={"essential": True, "value": "dashboard"},
                          nonce={"essential": True, "value": nonce},
                          sub={"essential": True}, exp={"essential": True}).validate(token.claims)
    return token.claims


def test_discovery_document(idp, meta):
    assert meta["issuer"] == idp.issuer and idp.issuer.startswith("http://127.0.0.1:")
    assert meta["response_types_supported"] == ["code"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"client_secret_basic", "client_secret_post"} <= set(meta["token_endpoint_auth_methods_supported"])
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert meta[key].startswith(idp.issuer + "/")
    jwks = httpx.get(meta["jwks_uri"]).json()
    assert [k["kty"] for k in jwks["keys"]] == ["RSA"] and "d" not in jwks["keys"][0]  # public only


def test_code_flow_with_pkce_nonce_and_userinfo(idp, meta):
    client, nonce, verifier = _client(idp), generate_token(20), generate_token(48)
    location = _authorize(meta, client, "lena@practice.example", nonce, verifier)
    assert location.startswith(REDIRECT + "?")
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    claims = _claims(meta, token["id_token"], nonce)
    assert claims["email"] == "lena@practice.example" and claims["email_verified"] is True
    assert claims["name"] == "Lena Ortiz"  # extra claims from `users` (keyed case-insensitively)
    reply = client.get(meta["userinfo_endpoint"])  # Bearer access token
    assert reply.status_code == 200, reply.text
    info = reply.json()
    assert info["sub"] == claims["sub"] and info["email"] == "lena@practice.example"


def test_any_email_signs_in_and_users_can_be_unverified(idp, meta):
    for email, verified in [("stranger@elsewhere.example", True), ("new@practice.example", False)]:
        client, nonce = _client(idp, token_endpoint_auth_method="client_secret_post"), generate_token(20)
        verifier = generate_token(48)
        location = _authorize(meta, client, email, nonce, verifier)
        token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
        claims = _claims(meta, token["id_token"], nonce)
        assert (claims["email"], claims["email_verified"]) == (email, verified)
        assert claims["name"] and claims["sub"]


def test_code_is_single_use_and_bound_to_the_verifier(idp, meta):
    client, verifier = _client(idp), generate_token(48)
    location = _authorize(meta, client, "lena@practice.example", generate_token(20), verifier)
    with pytest.raises(OAuthError, match="invalid_grant"):  # PKCE: wrong verifier
        client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=generate_token(48))
    client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    with pytest.raises(OAuthError, match="invalid_grant"):  # replayed code
        client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)


def test_rejects_bad_secret_redirect_and_replayed_nonce(idp, meta):
    verifier, nonce = generate_token(48), generate_token(20)
    location = _authorize(meta, _client(idp), "lena@practice.example", nonce, verifier)
    bad = OAuth2Client("dashboard", "wrong", redirect_uri=REDIRECT)
    with pytest.raises(OAuthError, match="invalid_client"):
        bad.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    evil = _client(idp)
    evil.redirect_uri = "http://127.0.0.1:9/elsewhere"
    url, _ = evil.create_authorization_url(meta["authorization_endpoint"], nonce=generate_token(20))
    assert httpx.get(url).status_code == 400  # unregistered redirect_uri: an error page, never a redirect
    url, _ = _client(idp).create_authorization_url(meta["authorization_endpoint"], nonce=nonce)
    reply = httpx.post(url, data={"email": "lena@practice.example"})
    assert reply.status_code == 400 and "Replay" in reply.json()["error_description"]  # nonce already used
