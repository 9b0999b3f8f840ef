"""A tiny OIDC issuer on 127.0.0.1 whose token endpoint answers whatever ID token the test
crafted: the bad tokens a real provider would never sign (alg none, another key, HS256 keyed
with the public key, wrong aud, iss, nonce, expired)."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import free_port


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIssuer:
    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.id_token = ""
        self.tokens_served = 0
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": "key-a", "use": "sig", "alg": "RS256"}]}

    def claims(self, nonce: str | None, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": "fake-client",
            "sub": "fake-0001",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": "mallory@corp.example",
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def signed(self, claims: dict[str, Any], *, key: Any = None, kid: str = "key-a") -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def unsigned(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "none", "kid": "key-a"}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}."

    def hs256_with_public_key(self, claims: dict[str, Any]) -> str:
        secret = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = _b64(json.dumps({"alg": "HS256", "kid": "key-a", "typ": "JWT"}).encode())
        body = f"{header}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(secret, body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(signature)}"

    def serve(self) -> Iterator["FakeIssuer"]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.startswith("/.well-known/openid-configuration"):
                    self._json(
                        {
                            "issuer": issuer.issuer,
                            "authorization_endpoint": f"{issuer.issuer}/authorize",
                            "token_endpoint": f"{issuer.issuer}/token",
                            "jwks_uri": f"{issuer.issuer}/jwks",
                            "userinfo_endpoint": f"{issuer.issuer}/userinfo",
                            "token_endpoint_auth_methods_supported": ["client_secret_post"],
                        }
                    )
                else:
                    self._json(issuer.jwks)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                issuer.tokens_served += 1
                self._json(
                    {"access_token": "at", "token_type": "Bearer", "id_token": issuer.id_token}
                )

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


Craft = Callable[[FakeIssuer, str], str]
