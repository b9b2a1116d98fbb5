"""Typed failures of media intake, providers and downloads; the API maps each to a typed error."""

from __future__ import annotations


class MediaError(Exception):
    """Base of every expected media failure; the message is meant for the user."""


class NotAudio(MediaError):
    """The file could not be decoded as audio."""


class TooLarge(MediaError):
    """The upload or download exceeds the configured size limit."""


class UnknownSource(MediaError):
    """No provider recognises the URL or id, or the provider name is unknown."""


class DownloadError(MediaError):
    """A download failed: HTTP error, timeout, size limit or an extractor failure."""


class NoSourceAccess(MediaError):
    """The provider gives metadata only, never the audio itself."""


class UnsafeURL(MediaError):
    """The URL's scheme or address is refused (SSRF protection)."""
