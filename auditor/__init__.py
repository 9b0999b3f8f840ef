"""The auditor's view (/audit/): the audit trail, read-only, for the auditor role.

A top-level app above `accounts` and `audit`: it needs accounts' role selectors and audit's
selectors, and `audit` (the lowest app) may import neither. See docs/audit.md.
"""
