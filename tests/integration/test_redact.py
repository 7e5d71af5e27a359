"""The logging filter applications attach: no secret (or encoded form) reaches a log line."""

from __future__ import annotations

import base64
import io
import logging
from urllib.parse import quote

import envman

SECRET = "sk-prod-cccccccccccccccc3333"


def _logger(flt: logging.Filter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(flt)
    logger = logging.getLogger(f"redact-test-{id(out)}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, out


def test_filter_from_loaded_settings_masks_message_args_and_exceptions(seeded) -> None:  # type: ignore[no-untyped-def]
    """A record with the secret in the message, in %s args, encoded, and in an exception comes out masked."""
    settings = envman.load("production")
    logger, out = _logger(envman.redact_filter(settings))
    logger.info("key in message " + SECRET)
    logger.info("key in args %s and %r", SECRET, {"k": SECRET})
    logger.warning("encoded %s %s", base64.b64encode(SECRET.encode()).decode(), quote(SECRET))
    try:
        raise RuntimeError(f"upstream rejected {SECRET}")
    except RuntimeError:
        logger.exception("failure")
    text = out.getvalue()
    assert SECRET not in text
    assert base64.b64encode(SECRET.encode()).decode()[:-4] not in text
    assert text.count("[secret sk-…3333]") >= 5
    assert "RuntimeError: upstream rejected [secret sk-…3333]" in text


def test_settings_expose_config_fingerprint(seeded) -> None:  # type: ignore[no-untyped-def]
    """load() exposes which version it runs; the fingerprint changes when values change."""
    first = envman.load("production").ENVMAN_FINGERPRINT
    assert first.startswith("production@1:")
    from envman.ops import set_var

    set_var(seeded.open(), "production", "AI_LOG_LEVEL", "warning")
    second = envman.load("production").ENVMAN_FINGERPRINT
    assert second.startswith("production@2:") and second != first


def test_status_deployed_tells_stale_from_current(seeded, cli) -> None:  # type: ignore[no-untyped-def]
    """`status --deployed FP` exits 0 for the current version, 1 for an older or unknown one."""
    fp = envman.load("staging").ENVMAN_FINGERPRINT
    assert cli("status", "--deployed", fp).exit_code == 0
    from envman.ops import set_var

    set_var(seeded.open(), "staging", "AI_LOG_LEVEL", "error")
    stale = cli("status", "--deployed", fp)
    assert stale.exit_code == 1 and "stale" in stale.stdout
    forged = cli("status", "--deployed", fp[:-4] + "0000")
    assert forged.exit_code == 1 and "does not match" in forged.stdout
    assert cli("status", "--deployed", "nonsense").exit_code == 2
