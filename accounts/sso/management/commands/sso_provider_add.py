"""`sso_provider_add oidc|saml ...`: add an identity provider people sign in with."""

import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils.text import slugify

from accounts.models import IdentityProvider, IdentityProviderKind
from accounts.services.identities import identity_provider_create
from accounts.sso.saml import saml_metadata_parse

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _url(value: str, what: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in LOCAL_HOSTS):
        return value.rstrip("/") if what == "issuer" else value
    raise CommandError(f"{what} must be an https:// URL (http:// only on this machine): {value}")


class Command(BaseCommand):
    help = (
        "Add an OIDC or SAML identity provider (one sign-in button each). "
        "oidc: --slug --issuer --client-id --client-secret [--groups-claim groups]; "
        "saml: --slug --metadata FILE_OR_URL [--groups-attribute NAME]. "
        "A client secret of '-' is read from standard input (kept out of the process list)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True)
        oidc = kinds.add_parser("oidc", help="an OpenID Connect provider")
        saml = kinds.add_parser("saml", help="a SAML 2.0 identity provider")
        for sub in (oidc, saml):
            sub.add_argument("--slug", required=True)
            sub.add_argument("--name", default="", help="the button's label (default: slug)")
            sub.add_argument(
                "--scim-only", action="store_true", help="no just-in-time provisioning"
            )
        oidc.add_argument("--issuer", required=True)
        oidc.add_argument("--client-id", required=True)
        oidc.add_argument("--client-secret", required=True)
        oidc.add_argument("--groups-claim", default="")
        oidc.add_argument("--subject-claim", default="sub", help="e.g. oid for Entra ID")
        oidc.add_argument("--scopes", default="openid profile email")
        saml.add_argument("--metadata", required=True, help="the IdP's metadata: a file or URL")
        saml.add_argument("--groups-attribute", default="")
        saml.add_argument("--uid-attribute", default="", help="default: subject-id, then NameID")
        saml.add_argument("--allow-idp-initiated", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"]
        if slugify(slug) != slug:
            raise CommandError(f"a slug is lowercase letters, digits and hyphens: {slug!r}")
        if IdentityProvider.objects.filter(slug=slug).exists():
            raise CommandError(f"an identity provider named {slug!r} exists already")
        fields = self._oidc(options) if options["kind"] == "oidc" else self._saml(options)
        try:
            provider = identity_provider_create(
                actor=None,
                slug=slug,
                name=options["name"] or slug,
                jit_provisioning=not options["scim_only"],
                **fields,
            )
        except IntegrityError as exc:
            raise CommandError(f"an identity provider named {slug!r} exists already") from exc
        self.stdout.write(f"added {provider.kind} provider {provider.slug} ({provider.issuer})")

    def _oidc(self, options: dict[str, Any]) -> dict[str, Any]:
        secret = options["client_secret"]
        if secret == "-":  # noqa: S105 - "-" means: read it from standard input
            secret = sys.stdin.readline().strip()
        if not secret:
            raise CommandError("the client secret is empty")
        config = {
            "client_id": options["client_id"],
            "client_secret": secret,
            "subject_claim": options["subject_claim"],
            "scopes": options["scopes"].split(),
        }
        return {
            "kind": IdentityProviderKind.OIDC,
            "issuer": _url(options["issuer"], "issuer"),
            "groups_claim": options["groups_claim"],
            "config": config,
        }

    def _saml(self, options: dict[str, Any]) -> dict[str, Any]:
        source = options["metadata"]
        if source.startswith(("https://", "http://")):
            try:
                response = requests.get(_url(source, "metadata URL"), timeout=10)
                response.raise_for_status()
            except requests.RequestException as exc:
                raise CommandError(f"cannot fetch the metadata: {exc}") from exc
            xml = response.text
        else:
            path = Path(source)
            if not path.is_file():
                raise CommandError(f"no metadata file at {source}")
            xml = path.read_text()
        try:
            parsed = saml_metadata_parse(xml)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        config: dict[str, Any] = {
            "idp": parsed["idp"],
            "allow_idp_initiated": options["allow_idp_initiated"],
        }
        if options["uid_attribute"]:
            config["uid_attribute"] = options["uid_attribute"]
        return {
            "kind": IdentityProviderKind.SAML,
            "issuer": parsed["entity_id"],
            "groups_claim": options["groups_attribute"],
            "config": config,
        }
