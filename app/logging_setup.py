"""Logging for the GUI and the command line: a rotating file, and secret removal.

``configure_logging`` sends every record through ``RedactingFilter``, which
replaces access tokens, Authorization headers and passwords, URL passwords
(``user:password@host``) included, with ``[redacted]`` in the message, its
arguments and the traceback text, whatever module logged it. ``redact`` and
``redact_url`` apply the same rules to text shown to the user.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys

from app import paths

LOG_FILE = "commonplace.log"
LOG_FILE_MAX_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 3
REDACTED = "[redacted]"

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_SECRET_KEYS = (
    r"access_token|refresh_token|password|new_password|token|login_token|loginToken"
)
# The user name starts a word or follows "://". The password runs to the last
# "@" before a space or quote, because a typo can leave "/" or "#" in it.
_URL_CREDENTIALS = re.compile(
    r"""(?:(?<=://)|(?<![^\s"'(<=\[]))([^\s/?#@:"'<>]+):(?!//)[^\s"'<>]*@"""
)
_PATTERNS = [
    # Synapse access and refresh tokens (syt_, syr_) and Matrix Authentication
    # Service tokens (mat_, mar_, mct_).
    (re.compile(r"\b(?:syt|syr|mat|mar|mct)_[A-Za-z0-9_\-]+"), REDACTED),
    (re.compile(r"(?i)\b(Bearer)\s+[^\s\"',;]+"), rf"\1 {REDACTED}"),
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n]+"),
        rf"\1{REDACTED}",
    ),
    # JSON or Python repr: "password": "..." and 'access_token': '...'.
    (
        re.compile(
            rf"""(?i)(["']?\b(?:{_SECRET_KEYS})\b["']?\s*:\s*)(["'])(?:\\.|(?!\2).)*\2"""
        ),
        rf"\1\2{REDACTED}\2",
    ),
    # Query strings and key=value text: access_token=...
    (re.compile(rf"(?i)\b((?:{_SECRET_KEYS})=)[^&\s\"',;]+"), rf"\1{REDACTED}"),
    # The password of a URL's user information, with or without a scheme
    # (http://alice:pw@proxy:3128, alice:pw@proxy:3128). The user name stays.
    (_URL_CREDENTIALS, rf"\1:{REDACTED}@"),
]

# Loggers of libraries that log full URLs (query strings included) at INFO.
_QUIET_LIBRARIES = ("httpx", "httpcore", "hpack")

_installed_handlers: list[logging.Handler] = []


def redact(text: str) -> str:
    """Return ``text`` with tokens, Authorization values and passwords replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str) -> str:
    """Return ``url`` with the password of its user information replaced.

    Used for proxy and server addresses shown in messages, so that
    ``http://alice:secret@proxy:3128`` shows as
    ``http://alice:[redacted]@proxy:3128``. Only that rule applies, so the
    rest of the URL is shown exactly as given.
    """
    return _URL_CREDENTIALS.sub(rf"\1:{REDACTED}@", url)


class RedactingFilter(logging.Filter):
    """Removes secrets from a record before any handler formats it.

    The message is formatted with its arguments first, so a token passed as
    an argument is caught too; the record then carries the finished text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure_logging(
    level: int = logging.INFO, log_file: bool = True, *, console: bool = True
) -> None:
    """Set up the root logger: a rotating file in the log folder and stderr.

    ``log_file`` adds ``commonplace.log`` (5 MiB, 3 old files kept) in
    ``app.paths.log_dir()``; ``console`` adds stderr. Calling it again
    replaces the handlers it added before.
    """
    root = logging.getLogger()
    for handler in _installed_handlers:
        root.removeHandler(handler)
        handler.close()
    _installed_handlers.clear()

    formatter = logging.Formatter(_FORMAT)
    handlers: list[logging.Handler] = []
    if log_file:
        handlers.append(
            logging.handlers.RotatingFileHandler(
                paths.log_dir() / LOG_FILE,
                maxBytes=LOG_FILE_MAX_BYTES,
                backupCount=LOG_FILE_BACKUPS,
                encoding="utf-8",
            )
        )
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
        _installed_handlers.append(handler)

    root.setLevel(level)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
