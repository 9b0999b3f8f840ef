"""Tamper-evidence primitives shared by every append-only ledger (the archive, the audit trail):
canonical JSON and the hash chain, Merkle trees, the Ed25519 checkpoint key, signed checkpoint
statements, the witnesses that keep them, and their comparison across database and witnesses.

A plain package at the bottom of the dependency order: it imports no app.
"""
