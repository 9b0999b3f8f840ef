"""SCIM 2.0 provisioning (RFC 7643/7644) at /scim/v2/: identity providers create, change,
group and deprovision people here. Resources and filters are parsed by scim2-models
(docs/adr/0007-scim-on-scim2-models.md); every write goes through `accounts.services`."""
