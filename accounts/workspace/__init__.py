"""Workspace settings: the limits and policies an administrator changes in the console
(message size, attachment size, send rate, who may create channels and DMs, whether new
channel members see the history by default, session length, local sign-in). Stored versioned
and audited in the database; the environment gives the defaults. docs/console.md."""
