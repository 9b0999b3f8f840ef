from django.db import models


class SamlAssertionSeen(models.Model):
    """A SAML assertion already used to sign in, remembered until it could no longer be
    accepted (its NotOnOrAfter plus the allowed clock skew): allauth and python3-saml keep no
    replay cache. In the database rather than the cache: an evicted or flushed cache key would
    silently reopen the replay window (docs/identity.md)."""

    issuer = models.CharField(max_length=500)
    assertion_id = models.CharField(max_length=255)
    forget_after = models.DateTimeField()
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "assertion_id"], name="unique_saml_assertion")
        ]
        indexes = [models.Index(fields=["forget_after"], name="saml_assertion_forget")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.assertion_id}"
