"""Evidence export: a compliance officer's search results (or chosen messages and
conversations) copied out of the archive into JSON Lines, CSV and EML, with a manifest signed
by the archive's key, an inclusion proof of every record against a signed checkpoint, and a
stand-alone verifier (tools/verify_export.py) in every export. The reference is docs/export.md.

Its own Django app (label `compliance_export`), so its tables and migrations stand apart from
the other compliance capabilities'.
"""
