"""``envman.load()``: the environment's values as a dynaconf settings object.

dynaconf is imported here and only here. Its own loaders and ``set()`` are
quadratic in the number of keys, so envman validates, types and overrides the
values itself and fills the settings store with the finished mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envman.errors import InvalidValue, UsageError


class RevealedSecret(str):
    """A decrypted secret: a real ``str`` for SDKs, but ``repr``/``str``/``print`` show only its masked form.

    The characters are the plaintext, so concatenation, f-strings, ``.encode()``
    and HTTP headers carry the real value; ``reveal()`` returns it as a plain str.
    """

    __slots__ = ()

    def reveal(self) -> str:
        """The plaintext as a plain ``str``."""
        return str.__str__(self)

    def __repr__(self) -> str:
        from envman.crypto import mask

        return repr(mask(str.__str__(self)))

    def __str__(self) -> str:
        from envman.crypto import mask

        return mask(str.__str__(self))

    def __format__(self, spec: str) -> str:
        # f"Bearer {key}" is how SDKs build headers: formatting keeps the real value
        return str.__str__(self).__format__(spec)


def load(env: str | None = None, *, root: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Any:
    """Load ``env`` (default ``ENVMAN_ENV``) as dynaconf settings: typed, secrets decrypted, process env wins."""
    from envman.ops import Project
    from envman.schema import coerce, validate_value

    source: Mapping[str, str] = os.environ if environ is None else environ
    env = env or source.get("ENVMAN_ENV")
    if not env:
        raise UsageError("no environment given", "call envman.load(\"production\") or set ENVMAN_ENV")
    project = Project.open(Path(root) if root is not None else None)
    profile = project.store.current(env)
    data: dict[str, Any] = {}
    names = set(profile.names()) | set(project.manifest.variables)
    for var in sorted(names):
        spec = project.spec(var)
        raw: str | None
        if var in source:
            raw = source[var]
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
    from dynaconf import Dynaconf  # type: ignore[import-untyped]

    settings = Dynaconf(
        environments=False, settings_files=[], load_dotenv=False, envvar_prefix="ENVMAN_NO_DYNACONF_ENVVARS",
        core_loaders=[], loaders=[],
    )
    settings._setup()
    # Filling the store directly keeps loading linear (dynaconf's set()/update() are quadratic).
    settings._wrapped.store.update(data)
    return settings


def deployed_status(project: Any, fingerprint: str) -> dict[str, Any]:
    """Compare a fingerprint a deployment reports (``ENVMAN_FINGERPRINT``) with the stored versions."""
    from envman.ops import resolve_version

    ref, _, digest = fingerprint.partition(":")
    env, _, number = ref.partition("@")
    if not number.isdigit() or not digest:
        raise InvalidValue(f"not a config fingerprint: {fingerprint!r}", "expected ENV@VERSION:HASH as reported by settings.ENVMAN_FINGERPRINT")
    project.manifest.require_env(env)
    deployed = resolve_version(project, env, number)
    current = project.store.current(env)
    matches = config_fingerprint(deployed) == fingerprint
    return {
        "environment": env,
        "deployed_version": deployed.version,
        "current_version": current.version,
        "fingerprint_matches": matches,
        "stale": deployed.version != current.version,
    }
