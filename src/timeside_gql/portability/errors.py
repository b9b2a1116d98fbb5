"""Typed failures of dump and load; the CLI prints the message on one line and exits 1."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base of every expected failure of dump and load (nothing was imported)."""


class ArchiveExists(ArchiveError):
    """The output path is taken: a dump never overwrites a previous one."""


class NotAnArchive(ArchiveError):
    """Not a tar, no readable manifest of ours, or content that does not parse."""


class UnsupportedFormat(ArchiveError):
    """The archive's format version is newer than this program reads."""


class TruncatedArchive(ArchiveError):
    """A member the manifest lists is missing or shorter than recorded."""


class ChecksumMismatch(ArchiveError):
    """A member's sha1 differs from the manifest's: the archive was altered or damaged."""


class UnsafePath(ArchiveError):
    """A path of the archive would land outside the data directory."""


class SchemaMismatch(ArchiveError):
    """The archive holds tables or columns this instance lacks (migrate it first)."""


class NotFound(ArchiveError):
    """A selection or user named on the command line does not exist."""


class ImportConflict(ArchiveError):
    """Rows of the archive cannot be reconciled with the target's (the import was rolled back)."""
