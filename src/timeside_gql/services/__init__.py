"""Domain writes and permission decisions: the one write path per object.

GraphQL mutations (api), HTTP routes (http) and CLI commands (cli) all call these functions,
which take ``(session, viewer, ...)``, decide who may do what, and raise :mod:`.errors` for
anything the caller can fix. They run inside the caller's transaction; side effects (files to
remove, jobs to send, events to publish) wait for its commit (``db.hooks``).
"""
