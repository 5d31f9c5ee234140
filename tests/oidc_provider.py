"""A small, real OpenID Connect identity provider -- FOR TESTS ONLY.

Built from Authlib's maintained server components (Flask ``AuthorizationServer``,
``AuthorizationCodeGrant`` with the ``OpenIDCode`` and PKCE ``CodeChallenge`` extensions,
``UserInfoEndpoint``) and a joserfc RS256 key, so the protocol is Authlib's, not ours.
It runs on 127.0.0.1 on a free port in a daemon thread and keeps everything in memory.

Sign-in is deliberately trusting: ``GET /authorize`` shows a one-field form, and whatever
email is typed there is signed in (so a dashboard's own "unknown user" refusal can be
tested). ``users`` only adds claims for known emails, e.g. ``{"a@x.org": {"name": "A",
"email_verified": False}}``. Never use this outside tests.

    with LocalIdP(redirect_uris=["http://127.0.0.1:8501/oauth2callback"]) as idp:
        idp.metadata_url  # -> http://127.0.0.1:PORT/.well-known/openid-configuration
"""

from __future__ import annotations

import hashlib
import html
import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

SCOPES = ["openid", "email", "profile"]
SIGN_IN_FORM = """<!doctype html><html><head><title>Test IdP sign-in</title></head><body>
<h1>Test identity provider</h1><p>Signing in to <b>{client}</b> (tests only).</p>
<form method="post"><label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="off" required>
<button type="submit">Sign in</button></form></body></html>"""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    client_metadata: dict = field(default_factory=dict)  # read by UserInfoEndpoint

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class User:
    email: str
    claims: dict

    @property
    def sub(self) -> str:  # stable per email, opaque like a real provider's
        return hashlib.sha256(self.email.lower().encode()).hexdigest()[:24]

    def get_user_id(self):
        return self.sub


@dataclass
class AuthCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


@dataclass
class Token(TokenMixin):
    access_token: str
    scope: str
    expires_at: float
    client: Client
    user: User

    def check_client(self, client):
        return client.get_client_id() == self.client.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int(self.expires_at - time.time())

    def is_expired(self):
        return time.time() >= self.expires_at

    def is_revoked(self):
        return False

    def get_user(self):
        return self.user

    def get_client(self):
        return self.client


def user_info(user: User, scope: str) -> UserInfo:
    claims = {"email_verified": True, "name": user.email.split("@")[0], **user.claims}
    return UserInfo(sub=user.sub, email=user.email, **claims).filter(scope)


class LocalIdP:
    """An in-memory OIDC provider on ``http://127.0.0.1:<free port>``; a context manager."""

    def __init__(self, users: dict[str, dict] | None = None, client_id: str = "dashboard",
                 client_secret: str = "test-secret", redirect_uris: list[str] | None = None):
        self.users = {k.lower(): dict(v) for k, v in (users or {}).items()}
        self.client = Client(client_id, client_secret, list(redirect_uris or []))
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256", "use": "sig"})
        self.codes: dict[str, AuthCode] = {}  # live codes (deleted once exchanged)
        self.issued: list[AuthCode] = []  # every code ever issued: lets tests see what the client sent
        self.tokens: dict[str, Token] = {}
        self.used_nonces: set[str] = set()
        self._server = make_server("127.0.0.1", 0, self._make_app(), threaded=True)
        self.port = self._server.server_port
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.metadata_url = f"{self.issuer}/.well-known/openid-configuration"
        self._thread = threading.Thread(target=self._server.serve_forever, name="LocalIdP", daemon=True)
        self._thread.start()

    def user(self, email: str) -> User:
        email = email.strip()
        return User(email, self.users.get(email.lower(), {}))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalIdP:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": SCOPES,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
                                 "email", "email_verified", "name"],
        }

    def _make_app(self) -> Flask:
        idp = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            def save_authorization_code(self, code, req):
                data = req.payload.data
                item = AuthCode(code, req.client.client_id, req.payload.redirect_uri, req.payload.scope,
                                req.user, data.get("nonce"), data.get("code_challenge"),
                                data.get("code_challenge_method"))
                idp.codes[code] = item
                idp.issued.append(item)
                if data.get("nonce"):
                    idp.used_nonces.add(data["nonce"])

            def query_authorization_code(self, code, client):
                item = idp.codes.get(code)
                if item and item.client_id == client.client_id and time.time() - item.auth_time < 600:
                    return item
                return None

            def delete_authorization_code(self, authorization_code):
                idp.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class OpenID(OpenIDCode):
            def exists_nonce(self, nonce, req):
                return nonce in idp.used_nonces

            def resolve_client_private_key(self, client):
                return idp.key

            def get_client_claims(self, client):
                return {"iss": idp.issuer, "aud": [client.get_client_id()]}

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": idp.key.kid}

            def generate_user_info(self, user, scope):
                return user_info(user, scope)

        class UserInfoEP(UserInfoEndpoint):
            def get_issuer(self):
                return idp.issuer

            def generate_user_info(self, user, scope):
                return user_info(user, scope)

            def resolve_private_key(self):
                return idp.key

        class Bearer(BearerTokenValidator):
            def authenticate_token(self, token_string):
                return idp.tokens.get(token_string)

        def save_token(token, req):
            idp.tokens[token["access_token"]] = Token(
                token["access_token"], token.get("scope", ""), time.time() + token.get("expires_in", 3600),
                req.client, req.user)

        app = Flask("oidc_test_idp")
        server = AuthorizationServer(
            app, query_client=lambda cid: idp.client if cid == idp.client.client_id else None,
            save_token=save_token)
        server.register_grant(CodeGrant, [OpenID(require_nonce=False), CodeChallenge(required=False)])
        protector = ResourceProtector()
        protector.register_token_validator(Bearer())
        server.register_endpoint(UserInfoEP(resource_protector=protector))

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(idp.metadata())

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([idp.key]).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            if request.method == "GET":  # validate first: bad client/redirect_uri gets an error, not a form
                server.get_consent_grant(end_user=None)
                return SIGN_IN_FORM.format(client=html.escape(idp.client.client_id))
            user = idp.user(request.form.get("email", ""))
            if "@" not in user.email:
                return "an email is required", 400
            grant = server.get_consent_grant(end_user=user)
            return server.create_authorization_response(grant_user=user, grant=grant)

        @app.post("/token")
        def token():
            return server.create_token_response()

        @app.route("/userinfo", methods=["GET", "POST"])
        def userinfo():
            return server.create_endpoint_response("userinfo")

        @app.errorhandler(OAuth2Error)
        def oauth_error(error):  # a bad authorize request (client, redirect_uri, nonce replay...): say so
            return {"error": error.error, "error_description": error.description}, 400

        return app
