"""A logging filter that masks every known secret (and its encoded forms) in log records.

Applications attach it once::

    settings = envman.load("production")
    logging.getLogger().addFilter(envman.redact_filter(settings))   # or handler.addFilter(...)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any


class RedactFilter(logging.Filter):
    """Rewrites each record so no secret appears in its message, arguments or exception text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        from envman.crypto import mask
        from envman.scan import encoded_forms

        replacements: dict[str, str] = {}
        for secret in secrets:
            if len(secret) < 4:
                continue  # too short to mask without destroying ordinary text
            shown = f"[secret {mask(secret)}]"
            for pattern, _encoding in encoded_forms(secret):
                text = pattern.decode("utf-8", "replace")
                replacements.setdefault(text, shown)
        # Longest first so an encoding that contains another form is replaced whole.
        ordered = sorted(replacements, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._replacements = replacements

    def redact(self, text: str) -> str:
        """``text`` with every secret form replaced by its masked marker."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._replacements[m.group()], text)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must still be redacted, not crash logging
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            # keep the type for handlers that inspect it, drop the traceback object with its locals
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redact_filter(settings: Any = None, *, env: str | None = None, secrets: Iterable[str] | None = None) -> RedactFilter:
    """A filter for the secrets of ``settings`` (from ``envman.load``), of ``env``, or given explicitly."""
    if secrets is None:
        if settings is None:
            from envman.settings import load

            settings = load(env)
        from envman.settings import RevealedSecret

        secrets = [str.__str__(v) for v in settings.as_dict().values() if isinstance(v, RevealedSecret)]
    return RedactFilter(secrets)
