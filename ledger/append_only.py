"""The one registry of the database tables that only ever grow.

The application's database role may INSERT and SELECT these tables and nothing else: the grants
(`manage.py db_grant_app_role`), the start-up check that refuses a role able to change them, and
the tests that play that role all read this module. An app that adds an append-only table adds
its name here, in the same change as the migration that creates it.
"""

APPEND_ONLY_TABLES: tuple[str, ...] = (
    # the archive (archive/)
    "archive_archiverecord",
    "archive_archiveblob",
    "archive_checkpoint",
    "archive_verificationrun",
    "archive_verificationstep",
    "archive_archiveblockroot",
    # the compliance audit trail (audit/)
    "audit_auditevent",
    "audit_auditcheckpoint",
    "audit_auditverificationrun",
)

# Counter rows that move forward as the append-only tables grow: the application keeps UPDATE
# (never DELETE or TRUNCATE) on them. A rewound counter cannot hide anything: the next record
# would collide with an existing sequence number or break the hash chain.
COUNTER_TABLES: tuple[str, ...] = ("archive_archivehead", "audit_audithead")
