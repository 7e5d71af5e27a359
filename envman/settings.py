"""``envman.load()``: the environment's values as a dynaconf settings object.

dynaconf is imported here and only here. Its own loaders and ``set()`` are
quadratic in the number of keys, so envman validates, types and overrides the
values itself and fills the settings store with the finished mapping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from envman.errors import InvalidValue, UsageError


class RevealedSecret(str):
    """A decrypted secret: a real ``str`` for SDKs, but ``repr`` shows only its masked form."""

    __slots__ = ()

    def __repr__(self) -> str:
        from envman.crypto import mask

        return repr(mask(str.__str__(self)))


def load(env: str | None = None, *, root: str | Path | None = None, environ: dict[str, str] | None = None) -> Any:
    """Load ``env`` (default ``ENVMAN_ENV``) as dynaconf settings: typed, secrets decrypted, process env wins."""
    from envman.ops import Project
    from envman.schema import coerce, validate_value

    environ = os.environ if environ is None else environ
    env = env or environ.get("ENVMAN_ENV")
    if not env:
        raise UsageError("no environment given", "call envman.load(\"production\") or set ENVMAN_ENV")
    project = Project.open(Path(root) if root is not None else None)
    profile = project.store.current(env)
    data: dict[str, Any] = {}
    names = set(profile.names()) | set(project.manifest.variables)
    for var in sorted(names):
        spec = project.spec(var)
        raw: str | None
        if var in environ:
            raw = environ[var]
            try:
                validate_value(spec, raw)
            except InvalidValue as exc:
                raise InvalidValue(f"process environment: {exc.message}", exc.hint) from None
        elif var in profile.secrets:
            raw = project.reveal(env, var, profile.secrets[var]).reveal()
        else:
            raw = profile.values.get(var)
        if raw is None:
            continue
        data[var] = RevealedSecret(raw) if spec.secret else coerce(spec, raw)
    data["ENVMAN_ENV"] = env
    data["ENVMAN_VERSION"] = profile.version
    data["ENVMAN_FINGERPRINT"] = config_fingerprint(profile)
    return _settings(data)


def config_fingerprint(profile: Any) -> str:
    """Short id of a version's values: what a deployment reports to show which config it runs."""
    return f"{profile.env}@{profile.version}:{profile.values_hash()[:12]}"


def _settings(data: dict[str, Any]) -> Any:
    from dynaconf import Dynaconf

    settings = Dynaconf(
        environments=False, settings_files=[], load_dotenv=False, envvar_prefix="ENVMAN_NO_DYNACONF_ENVVARS",
        core_loaders=[], loaders=[],
    )
    settings._setup()
    # Filling the store directly keeps loading linear (dynaconf's set()/update() are quadratic).
    settings._wrapped.store.update(data)
    return settings
