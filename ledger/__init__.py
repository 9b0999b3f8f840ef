"""Tamper-evidence primitives shared by every append-only ledger (the archive, the audit trail):
canonical JSON and the hash chain, Merkle trees, and the Ed25519 checkpoint key.

A plain package at the bottom of the dependency order: it imports no app.
"""
