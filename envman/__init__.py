"""envman: per-environment configuration with encrypted secrets, versions and a tamper-evident ledger.

Importing envman imports nothing heavy; ``load()`` pulls in dynaconf when called.
"""

from __future__ import annotations

from typing import Any

from envman.errors import EnvmanError

__all__ = ["EnvmanError", "__version__", "load", "redact_filter"]
__version__ = "0.1.0"


def load(env: str | None = None, **kwargs: Any) -> Any:
    """The environment's settings as a dynaconf object (see ``envman.settings.load``)."""
    from envman.settings import load as _load

    return _load(env, **kwargs)


def redact_filter(*args: Any, **kwargs: Any) -> Any:
    """A ``logging.Filter`` masking every secret of the loaded environment."""
    from envman.redact import redact_filter as _redact_filter  # type: ignore[import-not-found,unused-ignore]

    return _redact_filter(*args, **kwargs)
