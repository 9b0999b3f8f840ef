"""A SAML 2.0 identity provider for the SSO tests, built on pysaml2's `saml2.server.Server`
(signing with Debian's xmlsec1, RSA-SHA256 unless a test asks for SHA-1).

The test plays the browser: it takes the AuthnRequest our SP redirects to `sso_url`, asks this
IdP for a Response, and posts it to our ACS. `resign` signs a changed assertion again with the
IdP's key, for responses that are validly signed yet wrong (audience, expiry)."""

import base64
import datetime
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT, xmldsig
from saml2.config import IdPConfig
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

ENTITY_ID = "https://idp.corp.example/saml"
SSO_URL = "https://idp.corp.example/saml/sso"
SLO_URL = "https://idp.corp.example/saml/slo"
ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"


def _self_signed(folder: Path, name: str) -> tuple[Path, Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file.write_bytes(pem)
    body = "".join(pem.decode().strip().splitlines()[1:-1])
    return key_file, cert_file, body


@dataclass
class AuthnRequest:
    id: str
    acs_url: str
    sp_entity_id: str
    relay_state: str


class SamlIdp:
    def __init__(self, folder: Path) -> None:
        self.key_file, self.cert_file, self.cert = _self_signed(folder, "idp")
        self.server: Server

    def trust(self, sp_metadata: str) -> None:
        """Know the SP (our metadata), as an IdP administrator adds an application."""
        config = IdPConfig()
        config.load(
            {
                "entityid": ENTITY_ID,
                "xmlsec_binary": shutil.which("xmlsec1"),
                "key_file": str(self.key_file),
                "cert_file": str(self.cert_file),
                "metadata": {"inline": [sp_metadata]},
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT)],
                            "single_logout_service": [(SLO_URL, BINDING_HTTP_REDIRECT)],
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "want_authn_requests_signed": False,
                        "policy": {"default": {"lifetime": {"minutes": 5}}},
                    }
                },
            }
        )
        self.server = Server(config=config)

    def metadata(self) -> str:
        cert = self.cert
        return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{ENTITY_ID}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{cert}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="{BINDING_HTTP_REDIRECT}" Location="{SLO_URL}"/>
    <md:SingleSignOnService Binding="{BINDING_HTTP_REDIRECT}" Location="{SSO_URL}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""

    def read_request(self, redirect_url: str) -> AuthnRequest:
        query = parse_qs(urlparse(redirect_url).query)
        raw = query["SAMLRequest"][0]
        parsed = self.server.parse_authn_request(raw, BINDING_HTTP_REDIRECT)
        message = parsed.message
        return AuthnRequest(
            id=message.id,
            acs_url=message.assertion_consumer_service_url,
            sp_entity_id=message.issuer.text,
            relay_state=query.get("RelayState", [""])[0],
        )

    def response(
        self,
        request: AuthnRequest | None,
        *,
        subject: str,
        attributes: dict[str, list[str]],
        acs_url: str = "",
        sp_entity_id: str = "",
        sign: bool = True,
        sha1: bool = False,
    ) -> str:
        """A Response (XML) whose assertion names `subject`, signed as the IdP signs."""
        algs = (
            (xmldsig.SIG_RSA_SHA1, xmldsig.DIGEST_SHA1)
            if sha1
            else (xmldsig.SIG_RSA_SHA256, xmldsig.DIGEST_SHA256)
        )
        response = self.server.create_authn_response(
            identity=attributes,
            in_response_to=request.id if request else None,
            destination=request.acs_url if request else acs_url,
            sp_entity_id=request.sp_entity_id if request else sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_response=False,
            sign_assertion=sign,
            sign_alg=algs[0],
            digest_alg=algs[1],
        )
        return str(response)

    def resign(self, xml: str, assertion_id: str) -> str:
        """Sign the (changed) assertion again with the IdP's own key."""
        signed: str = self.server.sec.sign_statement(xml, ASSERTION, node_id=assertion_id)
        return signed


def post_form(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def inflate(raw: str) -> str:
    return zlib.decompress(base64.b64decode(raw), -15).decode()


def attributes_for(email: str, groups: list[str]) -> dict[str, Any]:
    return {
        "urn:oid:0.9.2342.19200300.100.1.3": [email],
        "urn:oid:2.5.4.42": ["Sam"],
        "urn:oid:2.5.4.4": ["Sample"],
        "memberOf": groups,
    }
