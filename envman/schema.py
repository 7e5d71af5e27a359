"""Names, variable types and value validation (pure, no I/O)."""

from __future__ import annotations

from envman.errors import InvalidValue
from envman.records import Record

# Names are checked with str methods, not regular expressions: compiling a pattern costs
# more start-up time than a command spends checking every name it reads. ASCII only.
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_ENV_CHARS = _LOWER + _DIGITS + "-"
_VAR_CHARS = _UPPER + _DIGITS + "_"
_PROJECT_CHARS = _LOWER + _DIGITS + "._-"
_VAR_START = _UPPER + "_"
_PROJECT_START = _LOWER + _DIGITS


def is_env_name(name: str) -> bool:
    """An environment name: a lower-case letter, then up to 31 lower-case letters, digits or '-'."""
    return 0 < len(name) <= 32 and name[0] in _LOWER and not name.strip(_ENV_CHARS)


def is_var_name(name: str) -> bool:
    """A variable name: upper-case letters, digits and '_', not starting with a digit."""
    return bool(name) and name[0] in _VAR_START and not name.strip(_VAR_CHARS)


def is_project_id(name: str) -> bool:
    """A project id: a lower-case letter or digit, then up to 63 of those or '.', '_', '-'."""
    return 0 < len(name) <= 64 and name[0] in _PROJECT_START and not name.strip(_PROJECT_CHARS)


TYPES = ("secret", "url", "model", "duration_ms", "log_level", "string", "int", "bool")
LOG_LEVELS = frozenset(
    {"trace", "debug", "info", "notice", "warn", "warning", "error", "critical", "fatal", "silent", "off"}
)
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
PROMOTE_POLICIES = ("move", "keep")
MAX_VALUE_BYTES = 1024 * 1024
# int and duration_ms values must fit a signed 64-bit integer: what every consumer of an
# exported number can hold (and what int() converts without hitting Python's digit limit).
MAX_INT = 2**63 - 1

# Names that hold credentials by convention (a whole '_'-separated word, or PASSWORD
# anywhere); such variables are stored encrypted.
_SECRET_WORDS = frozenset({"KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "CREDENTIALS", "PRIVATE"})


def check_env_name(name: str) -> str:
    """Return ``name`` if it is a valid environment name, else raise."""
    if not is_env_name(name):
        raise InvalidValue(
            f"invalid environment name {name!r}",
            "use 1-32 characters: a lower-case letter, then lower-case letters, digits or '-'",
        )
    return name


def check_var_name(name: str) -> str:
    """Return ``name`` if it is a valid variable name, else raise."""
    if not is_var_name(name):
        raise InvalidValue(
            f"invalid variable name {name!r}",
            "use upper-case letters, digits and '_', not starting with a digit",
        )
    return name


def looks_secret(name: str) -> bool:
    """True for names that conventionally hold credentials (``*_KEY``, ``*_TOKEN``...)."""
    return "PASSWORD" in name or not _SECRET_WORDS.isdisjoint(name.split("_"))


class VarSpec(Record):
    """One variable of the schema in envman.toml."""

    name: str
    type: str = "string"
    required: bool = False
    promote: str = ""  # "move" | "keep"; empty means the type's default
    pin: tuple[str, ...] = ()  # environments that keep their own value on promote
    owner: str = ""
    rotation_method: str = ""
    rotation_days: int = 0
    ignore: tuple[str, ...] = ()  # check rule ids ignored for this variable
    export_as: dict[str, str] = {}  # noqa: RUF012 - shared, never changed in place; target/service -> name
    description: str = ""

    @property
    def secret(self) -> bool:
        return self.type == "secret"

    @property
    def promote_policy(self) -> str:
        """Secrets never move between environments unless explicitly allowed."""
        return self.promote or ("keep" if self.secret else "move")


def spec_from_toml(name: str, raw: object) -> VarSpec:
    """Build a VarSpec from its ``[variables.NAME]`` table, validating every field."""
    check_var_name(name)
    if not isinstance(raw, dict):
        raise InvalidValue(f"envman.toml: [variables.{name}] must be a table", "see `envman init` output for the format")
    # Only the fields present are checked: a schema of 10,000 variables is read by every command.
    typ = raw.get("type", "string")
    if typ not in TYPES:
        raise InvalidValue(f"envman.toml [variables.{name}]: unknown type {typ!r}", f"use one of {', '.join(TYPES)}")
    required = raw.get("required", False)
    if required is not True and required is not False:
        raise _bad_field(name, "required must be true or false")
    if len(raw) == ("required" in raw) + ("type" in raw):  # nothing else given
        return VarSpec(name, typ, required)
    promote = raw.get("promote", "")
    if promote and promote not in PROMOTE_POLICIES:
        raise _bad_field(name, "promote must be 'move' or 'keep'")
    pin = raw.get("pin", [])
    days = raw.get("rotation_days", 0)
    ignore = raw.get("ignore", [])
    export_as = raw.get("export_as", {})
    if not isinstance(pin, list) or not all(isinstance(p, str) for p in pin):
        raise _bad_field(name, "pin must be a list of environment names")
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise _bad_field(name, "rotation_days must be a whole number >= 0")
    if not isinstance(ignore, list) or not all(isinstance(i, str) for i in ignore):
        raise _bad_field(name, "ignore must be a list of rule ids such as \"E009\"")
    if not isinstance(export_as, dict) or not all(isinstance(v, str) for v in export_as.values()):
        raise _bad_field(name, "export_as must map a target to a name")
    for key in ("owner", "rotation_method", "description"):
        if not isinstance(raw.get(key, ""), str):
            raise _bad_field(name, f"{key} must be a string")
    return VarSpec(
        name=name,
        type=typ,
        required=required,
        promote=promote,
        pin=tuple(pin),
        owner=raw.get("owner", ""),
        rotation_method=raw.get("rotation_method", ""),
        rotation_days=days,
        ignore=tuple(ignore),
        export_as=dict(export_as),
        description=raw.get("description", ""),
    )


def _bad_field(name: str, problem: str) -> InvalidValue:
    return InvalidValue(f"envman.toml [variables.{name}]: {problem}", "fix envman.toml")


def validate_value(spec: VarSpec, value: str) -> str:
    """Return ``value`` if it is valid for the variable's type; raise naming the variable, never the value."""
    name = spec.name
    if "\x00" in value:
        raise InvalidValue(f"{name}: value contains a NUL byte", "environment variables cannot hold NUL; remove it")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
        raise InvalidValue(f"{name}: value is larger than 1 MiB", "store large data in a file and keep its path here")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"{name}: value is not valid UTF-8 text", "re-enter it as UTF-8") from None
    t = spec.type
    if t == "secret":
        if not value:
            raise InvalidValue(f"{name}: a secret cannot be empty", "give the secret value, or `envman unset` it")
        return value
    if t in ("url", "model", "duration_ms", "log_level", "int", "bool") and (value != value.strip() or "\n" in value):
        raise InvalidValue(f"{name}: value has leading/trailing whitespace or a line break", "remove the whitespace")
    if t == "url":
        problem = url_problem(value)
        if problem:
            raise InvalidValue(f"{name}: {problem}", "give the API root such as https://api.example.com/v1")
    elif t == "model":
        if not value or any(c.isspace() for c in value):
            raise InvalidValue(f"{name}: a model name must be non-empty without spaces", "use the exact name from the provider's model list")
    elif t == "duration_ms":
        number = _int64(value)
        if number is None or value[:1] in "+-" or number <= 0:
            raise InvalidValue(f"{name}: a duration must be a positive whole number of milliseconds", "for example 60000 for one minute")
    elif t == "log_level":
        if value.lower() not in LOG_LEVELS:
            raise InvalidValue(f"{name}: unknown log level", f"use one of {', '.join(sorted(LOG_LEVELS))}")
    elif t == "int":
        if _int64(value) is None:
            raise InvalidValue(f"{name}: not a whole number (64-bit)", f"use digits only, e.g. 42, between {-MAX_INT - 1} and {MAX_INT}")
    elif t == "bool" and value.lower() not in TRUE_WORDS | FALSE_WORDS:
        raise InvalidValue(f"{name}: not a boolean", "use true or false")
    return value


def _int64(value: str) -> int | None:
    """The number written as ASCII digits with an optional sign, if it fits a signed 64-bit integer."""
    body = value[1:] if value[:1] in ("+", "-") else value
    if not body.isascii() or not body.isdigit():
        return None
    digits = body.lstrip("0") or "0"
    if len(digits) > 19:  # keeps int() away from huge inputs (it refuses more than 4300 digits)
        return None
    number = -int(digits) if value[:1] == "-" else int(digits)
    return number if -MAX_INT - 1 <= number <= MAX_INT else None


def url_problem(value: str) -> str:
    """Describe why ``value`` is not an absolute http(s) URL, or return ''."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "URL must start with https:// (or http://)"
    if not parts.hostname:
        return "URL has no host"
    if any(c.isspace() for c in value):
        return "URL contains whitespace"
    return ""


def coerce(spec: VarSpec, value: str) -> object:
    """Typed value for ``envman.load()``: ints for int/duration, bools for bool, str otherwise."""
    if spec.type in ("int", "duration_ms"):
        number = _int64(value)
        if number is None:
            raise InvalidValue(f"{spec.name}: not a whole number (64-bit)", "fix the value with `envman set`")
        return number
    if spec.type == "bool":
        return value.lower() in TRUE_WORDS
    return value


def infer_type(name: str, value: str) -> str:
    """Guess a schema type for an imported variable from its name and value."""
    if looks_secret(name):
        return "secret"
    if value.startswith(("http://", "https://")) and not url_problem(value):
        return "url"
    upper = name.upper()
    if ("LOG_LEVEL" in upper or upper.endswith("LOGLEVEL")) and value.lower() in LOG_LEVELS:
        return "log_level"
    if upper.endswith("_MS") and value.isascii() and value.isdigit() and (_int64(value) or 0) > 0:
        return "duration_ms"
    if "MODEL" in upper and value and not any(c.isspace() for c in value):
        return "model"
    if value.lower() in ("true", "false"):
        return "bool"
    # one optional sign, and no leading zero (a zip code or id like 007 stays a string)
    digits = value[1:] if value[:1] in ("+", "-") else value
    if _int64(value) is not None and (digits == "0" or not digits.startswith("0")):
        return "int"
    return "string"


MAX_NOTE_CHARS = 512  # also the limit of a KV v2 custom_metadata value


def check_note(label: str, text: str) -> str:
    """Validate free-text metadata (owner, note, rotation method): one short line, no control characters."""
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidValue(f"{label} is longer than {MAX_NOTE_CHARS} characters", "keep it to a short line; link to details elsewhere")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidValue(f"{label} must be one line of text without control characters", "remove the line break or control character")
    return text
