"""SAML sign-in against a pysaml2 IdP: the good path, and every refusal with nothing created."""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.test import Client as DjangoClient
from lxml import etree
from saml2 import BINDING_HTTP_REDIRECT

from accounts.models import ExternalIdentity, Group, IdentityProvider, User
from accounts.services.identities import identity_provider_update
from accounts.sso.models import SamlAssertionSeen
from tests.idp.saml import SLO_URL, SamlIdp, attributes_for, post_form

pytestmark = pytest.mark.django_db

NS = {
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
SP = "http://127.0.0.1"  # python3-saml wants a dotted host or an address, not "testserver"
ACS = f"{SP}/accounts/saml/acme/acs/"
SP_ENTITY = f"{SP}/accounts/saml/acme/metadata/"


def Client() -> DjangoClient:  # noqa: N802 - the test client, as the SP's host sees it
    return DjangoClient(HTTP_HOST="127.0.0.1")


@pytest.fixture
def idp(db: None, tmp_path: Path) -> SamlIdp:
    saml_idp = SamlIdp(tmp_path)
    metadata = tmp_path / "idp.xml"
    metadata.write_text(saml_idp.metadata())
    call_command(
        "sso_provider_add",
        "saml",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--metadata",
        str(metadata),
        "--groups-attribute",
        "memberOf",
    )
    saml_idp.trust(Client().get("/accounts/saml/acme/metadata/").content.decode())
    return saml_idp


def _start(client: DjangoClient, next_url: str = "") -> str:
    response = client.post("/accounts/saml/acme/login/", {"next": next_url})
    assert response.status_code == 302, response.content[:300]
    return str(response["Location"])


def _post(client: DjangoClient, xml: str, relay_state: str = "") -> object:
    response = client.post(
        "/accounts/saml/acme/acs/", {"SAMLResponse": post_form(xml), "RelayState": relay_state}
    )
    assert response.status_code == 302
    return client.get(response["Location"])


def _reason(response: object) -> str:
    context = getattr(response, "context", None) or {}
    return str(context.get("saml_last_error_reason") or context.get("saml_errors") or "")


def _signed_in(client: DjangoClient) -> bool:
    return "_auth_user_id" in client.session


def _nothing_created() -> bool:
    return not (
        User.objects.exists() or ExternalIdentity.objects.exists() or Group.objects.exists()
    )


def _response_for(idp: SamlIdp, client: DjangoClient, subject: str = "emp-42", **kw: object) -> str:
    request = idp.read_request(_start(client))
    return idp.response(
        request,
        subject=subject,
        attributes=attributes_for("sam@acme.example", ["traders"]),
        **kw,  # type: ignore[arg-type]
    )


def test_metadata_and_the_authn_request_name_our_acs(idp):
    request = idp.read_request(_start(Client()))

    assert request.acs_url == ACS
    assert request.sp_entity_id == SP_ENTITY
    assert IdentityProvider.objects.get(slug="acme").groups_claim == "memberOf"


def test_a_signed_assertion_signs_in_and_provisions_by_issuer_and_nameid(idp):
    client = Client()
    request = idp.read_request(_start(client, next_url="/?c=3"))
    xml = idp.response(
        request, subject="emp-42", attributes=attributes_for("sam@acme.example", ["traders"])
    )

    response = _post(client, xml, request.relay_state)

    assert response.status_code == 302
    assert response["Location"] == "/?c=3"
    assert _signed_in(client)
    identity = ExternalIdentity.objects.get()
    assert (identity.issuer, identity.subject) == ("https://idp.corp.example/saml", "emp-42")
    assert identity.user.email == "sam@acme.example"
    assert list(
        Group.objects.filter(members=identity.user).values_list("external_id", flat=True)
    ) == ["traders"]
    assert 'SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"' in xml


def _tamper(xml: str) -> str:
    return xml.replace("sam@acme.example", "boss@acme.example")


def _xsw_evil_first(xml: str) -> str:
    """XSW: an unsigned evil assertion before the signed original."""
    root = etree.fromstring(xml.encode())
    signed = root.find("saml:Assertion", NS)
    evil = etree.fromstring(etree.tostring(signed))
    evil.set("ID", "_evil")
    evil.remove(evil.find("ds:Signature", NS))
    evil.find(".//saml:NameID", NS).text = "ceo-1"
    signed.addprevious(evil)
    return etree.tostring(root).decode()


def _xsw_original_hidden_in_evil(xml: str) -> str:
    """XSW: the evil assertion takes the original's place; the signed original hides inside
    the evil assertion's Signature element, where a naive verifier still finds its ID."""
    root = etree.fromstring(xml.encode())
    signed = root.find("saml:Assertion", NS)
    evil = etree.fromstring(etree.tostring(signed))
    evil.set("ID", "_evil")
    evil.find(".//saml:NameID", NS).text = "ceo-1"
    signature = evil.find("ds:Signature", NS)
    obj = etree.SubElement(signature, "{http://www.w3.org/2000/09/xmldsig#}Object")
    obj.append(signed)
    root.append(evil)
    return etree.tostring(root).decode()


def _xsw_same_id(xml: str) -> str:
    """XSW: an evil copy with the same ID as the signed original, placed first."""
    root = etree.fromstring(xml.encode())
    signed = root.find("saml:Assertion", NS)
    evil = etree.fromstring(etree.tostring(signed))
    evil.remove(evil.find("ds:Signature", NS))
    evil.find(".//saml:NameID", NS).text = "ceo-1"
    signed.addprevious(evil)
    return etree.tostring(root).decode()


def _xsw_in_extensions(xml: str) -> str:
    """XSW: the signed original moved into the Response's Extensions, an evil one in its place."""
    root = etree.fromstring(xml.encode())
    signed = root.find("saml:Assertion", NS)
    evil = etree.fromstring(etree.tostring(signed))
    evil.set("ID", "_evil")
    evil.remove(evil.find("ds:Signature", NS))
    evil.find(".//saml:NameID", NS).text = "ceo-1"
    extensions = etree.Element("{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    signed.addprevious(extensions)
    extensions.append(signed)
    extensions.addnext(evil)
    return etree.tostring(root).decode()


ONE = "must contain 1 assertion"
BAD: dict[str, tuple[Callable[[str], str], str]] = {
    "tampered": (_tamper, "Signature validation failed"),
    "XSW evil assertion first": (_xsw_evil_first, ONE),
    "XSW original inside the evil signature": (_xsw_original_hidden_in_evil, ONE),
    "XSW same ID": (_xsw_same_id, ONE),
    "XSW original in Extensions": (_xsw_in_extensions, ONE),
}


@pytest.mark.parametrize(("change", "reason"), BAD.values(), ids=BAD.keys())
def test_a_changed_or_wrapped_assertion_is_refused(idp, change, reason):
    client = Client()
    xml = change(_response_for(idp, client))

    response = _post(client, xml)

    assert reason in _reason(response)
    assert response.status_code in {400, 401, 403}
    assert not _signed_in(client)
    assert _nothing_created()


def test_an_unsigned_assertion_is_refused(idp):
    client = Client()

    response = _post(client, _response_for(idp, client, sign=False))

    assert "is not signed and the SP require" in _reason(response)
    assert response.status_code in {400, 401, 403}
    assert not _signed_in(client)
    assert _nothing_created()


def test_a_sha1_signature_is_refused(idp):
    client = Client()
    xml = _response_for(idp, client, sha1=True)

    response = _post(client, xml)

    assert "xmldsig#rsa-sha1" in xml
    assert "Deprecated signature algorithm" in _reason(response)
    assert response.status_code in {400, 401, 403}
    assert not _signed_in(client)
    assert _nothing_created()


def _assertion_id(xml: str) -> str:
    return str(etree.fromstring(xml.encode()).find("saml:Assertion", NS).get("ID"))


def test_an_assertion_signed_again_unchanged_still_signs_in(idp):
    """The control for the re-signed refusals below: re-signing alone is accepted."""
    client = Client()
    xml = _response_for(idp, client)

    response = _post(client, idp.resign(xml, _assertion_id(xml)))

    assert response.status_code == 302
    assert _signed_in(client)


def test_a_validly_signed_assertion_for_another_audience_is_refused(idp):
    client = Client()
    xml = _response_for(idp, client)
    changed = idp.resign(
        re.sub(r"(<(\w+:)?Audience>)[^<]+<", r"\1https://other.example/sp<", xml),
        _assertion_id(xml),
    )

    response = _post(client, changed)

    assert "https://other.example/sp" in changed
    assert "is not a valid audience" in _reason(response)
    assert response.status_code in {400, 401, 403}
    assert not _signed_in(client)
    assert _nothing_created()


def test_an_expired_assertion_is_refused_past_the_allowed_skew(idp):
    client = Client()
    xml = _response_for(idp, client)
    past = "2026-01-01T00:00:00Z"
    changed = idp.resign(
        re.sub(r'NotOnOrAfter="[^"]+"', f'NotOnOrAfter="{past}"', xml), _assertion_id(xml)
    )

    response = _post(client, changed)

    assert "expired" in _reason(response)
    assert response.status_code in {400, 401, 403}
    assert not _signed_in(client)
    assert _nothing_created()


def test_a_replayed_assertion_is_refused(idp):
    first = Client()
    request = idp.read_request(_start(first))
    xml = idp.response(request, subject="emp-42", attributes=attributes_for("s@a.example", []))
    assert _post(first, xml).status_code == 302
    users = User.objects.count()
    thief = Client()

    response = _post(thief, xml)

    assert "replayed assertion" in _reason(response)
    assert response.status_code in {400, 401, 403}
    assert not _signed_in(thief)
    assert User.objects.count() == users
    assert SamlAssertionSeen.objects.filter(assertion_id=_assertion_id(xml)).count() == 1


def test_an_idp_initiated_sign_in_is_refused_unless_enabled(idp):
    client = Client()
    xml = idp.response(
        None,
        subject="emp-42",
        attributes=attributes_for("s@a.example", []),
        acs_url=ACS,
        sp_entity_id=SP_ENTITY,
    )

    response = _post(client, xml)

    assert response.status_code in {400, 401, 403}
    assert not _signed_in(client)
    assert _nothing_created()


def test_an_idp_initiated_sign_in_works_when_the_provider_allows_it(idp):
    provider = IdentityProvider.objects.get(slug="acme")
    identity_provider_update(
        actor=None, provider=provider, config={**provider.config, "allow_idp_initiated": True}
    )
    client = Client()
    xml = idp.response(
        None,
        subject="emp-42",
        attributes=attributes_for("s@a.example", []),
        acs_url=ACS,
        sp_entity_id=SP_ENTITY,
    )

    response = _post(client, xml)

    assert response.status_code == 302
    assert _signed_in(client)


def test_the_clock_skew_allowed_is_ours_not_python3_samls_five_minutes(idp, settings):
    client = Client()
    xml = _response_for(idp, client)
    expired = datetime.now(UTC) - timedelta(seconds=settings.EIM_SAML_CLOCK_SKEW_SECONDS + 30)
    stamp = expired.strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = idp.resign(
        re.sub(r'NotOnOrAfter="[^"]+"', f'NotOnOrAfter="{stamp}"', xml), _assertion_id(xml)
    )

    response = _post(client, changed)

    assert settings.EIM_SAML_CLOCK_SKEW_SECONDS <= 180
    assert "expired" in _reason(response)
    assert not _signed_in(client)
    assert _nothing_created()


def test_sign_out_offers_the_idps_single_logout_with_our_nameid(idp):
    client = Client()
    request = idp.read_request(_start(client))
    _post(client, idp.response(request, subject="emp-42", attributes=attributes_for("s@a", [])))

    response = client.post("/logout/")

    assert "_auth_user_id" not in client.session
    link = unescape(
        re.search(r'href="([^"]+SAMLRequest[^"]*)"', response.content.decode()).group(1)
    )  # type: ignore[union-attr]
    assert link.startswith(SLO_URL)
    raw = parse_qs(urlparse(link).query)["SAMLRequest"][0]
    logout = idp.server.parse_logout_request(raw, BINDING_HTTP_REDIRECT)
    assert logout.message.name_id.text == "emp-42"
