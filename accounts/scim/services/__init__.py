"""Writes of SCIM provisioning: tokens, people and groups. Each checks its input, then writes
through `accounts.services` (which audit with actor None and via="scim:<token name>")."""
