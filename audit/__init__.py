"""The audit trail: every administrative change and compliance action, append-only.

At the bottom of the app order (`compliance → archive → eim → accounts → audit`), so that every
app records its actions through the one writer, `audit.services.audit_event_record`.
"""
