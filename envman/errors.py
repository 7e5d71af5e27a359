"""The one exception family: every failure carries a message, a hint and an exit code.

Only the CLI turns these into text; library callers catch ``EnvmanError``.
Messages never contain secret values: callers pass names, never plaintext.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FOUND = 1  # check/diff/scan found something
EXIT_USAGE = 2  # usage or input error, refused operation


class EnvmanError(Exception):
    """Base error: ``message`` says what is wrong, ``hint`` what to do next."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(EnvmanError):
    """Bad arguments or input the user can correct."""


class NotFound(EnvmanError):
    """An environment, variable, version or file that does not exist."""


class ProjectNotFound(NotFound):
    """No envman.toml in this folder or any parent."""


class InvalidValue(EnvmanError):
    """A value or name that fails validation."""


class KeyUnavailable(EnvmanError):
    """No usable private key for an environment."""


class RetiredKeyMissing(KeyUnavailable):
    """A value sealed for a key pair `envman rekey` replaced, whose (retired) key is not available here."""


class TamperError(EnvmanError):
    """Stored data does not match its ledger, hash chain or encryption binding."""


class ConflictError(EnvmanError):
    """Someone else changed the data between our read and our write."""


class StoreError(EnvmanError):
    """The storage backend failed (disk full, read-only, server unreachable)."""


class ProbeFailed(EnvmanError):
    """A live probe step failed."""

    exit_code = EXIT_FOUND


class ExportRefused(EnvmanError):
    """A value cannot be represented exactly in the chosen export format."""
