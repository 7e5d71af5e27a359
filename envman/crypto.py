"""Encryption, masking and fingerprints. The only module that touches `cryptography`.

Format of a ciphertext (version-tagged so the scheme can change later)::

    envman:v1:<ephemeral X25519 public key, b64url>:<nonce + AES-256-GCM ciphertext, b64url>

Writers need only the environment's public key: each write generates one
ephemeral key pair, does one X25519 agreement and derives an AES key with HKDF
bound to (project, environment). Every value is encrypted with associated data
binding (project, environment, variable), so a ciphertext moved to another
variable or environment fails authentication.
"""

from __future__ import annotations

import binascii
import os
import sys
from typing import TYPE_CHECKING, Any, Protocol

from envman.errors import InvalidValue, KeyUnavailable, TamperError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from envman.errors import EnvmanError

CIPHER_PREFIX = "envman:v1:"
PUBLIC_PREFIX = "envman-pk1:"
PRIVATE_PREFIX = "envman-sk1:"
FINGERPRINT_PREFIX = "fp1:"
# scrypt cost: 4 MiB of memory and ~20 ms per value; slow enough to make guessing
# low-entropy secrets from the public fingerprint expensive, fast enough for import.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**12, 8, 1


# URL-safe base64 without padding, straight through binascii: these run once per value.
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64e(data: bytes) -> str:
    """What ``base64.urlsafe_b64encode`` returns, without the padding."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    """What ``base64.urlsafe_b64decode`` returns (padding restored)."""
    return binascii.a2b_base64((text + "=" * (-len(text) % 4)).encode("ascii").translate(_FROM_URLSAFE))


class Secret:
    """A plaintext secret whose ``repr``/``str`` never show the value; use ``reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plaintext. Call only where it must leave the process (output with --reveal, exports)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({mask(self._value)!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _x25519() -> Any:
    """cryptography's X25519 functions: generate_key, from_private_bytes, from_public_bytes.

    The public classmethods (``X25519PrivateKey.generate()``...) first import the
    whole OpenSSL backend (RSA, DSA, EC, serialization: ~30 ms) only to ask whether
    X25519 is supported; the Rust binding they then call is used directly when present.
    """
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        binding = rust_openssl.x25519
        if all(hasattr(binding, f) for f in ("generate_key", "from_private_bytes", "from_public_bytes")):
            return binding
    except (ImportError, AttributeError):
        pass
    from types import SimpleNamespace

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    return SimpleNamespace(generate_key=X25519PrivateKey.generate, from_private_bytes=X25519PrivateKey.from_private_bytes,
                           from_public_bytes=X25519PublicKey.from_public_bytes)


def generate_keypair() -> tuple[str, str]:
    """A new environment key pair as (public, private) text."""
    # *_bytes_raw() rather than serialization's encodings: importing that module costs ~30 ms.
    key = _x25519().generate_key()
    raw_private = key.private_bytes_raw()
    raw_public = key.public_key().public_bytes_raw()
    return PUBLIC_PREFIX + _b64e(raw_public), PRIVATE_PREFIX + _b64e(raw_private)


def _raw_key(text: str, prefix: str, what: str) -> bytes:
    text = text.strip()
    if not text.startswith(prefix):
        raise InvalidValue(
            f"{what} is not an envman key (expected it to start with {prefix})", "copy the whole key as `envman init` printed or stored it"
        )
    try:
        raw = _b64d(text[len(prefix):])
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidValue(f"{what} is corrupted (wrong length)", "restore the key from your keychain or backup")
    return raw


def public_from_private(private: str) -> str:
    """The public key text belonging to a private key text."""
    key = _x25519().from_private_bytes(_raw_key(private, PRIVATE_PREFIX, "private key"))
    return PUBLIC_PREFIX + _b64e(key.public_key().public_bytes_raw())


def _aad(project: str, env: str, var: str) -> bytes:
    return f"envman:v1\x00{project}\x00{env}\x00{var}".encode()


def _derive(shared: bytes, epk: bytes, recipient: bytes, project: str, env: str) -> AESGCM:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    try:
        # the class ciphers.aead re-exports, without importing the whole ciphers package (~10 ms)
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        aesgcm = rust_openssl.aead.AESGCM
    except (ImportError, AttributeError):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM as aesgcm

    info = f"envman v1 data key\x00{project}\x00{env}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=info).derive(shared)
    return aesgcm(key)


class Encryptor:
    """Encrypts values for one environment; one key agreement per instance."""

    def __init__(self, project: str, env: str, public_key: str) -> None:
        x25519 = _x25519()
        recipient = _raw_key(public_key, PUBLIC_PREFIX, f"public key of {env!r} in envman.toml")
        ephemeral = x25519.generate_key()
        epk = ephemeral.public_key().public_bytes_raw()
        shared = ephemeral.exchange(x25519.from_public_bytes(recipient))
        self._aead = _derive(shared, epk, recipient, project, env)
        self._head = CIPHER_PREFIX + _b64e(epk) + ":"
        self.project, self.env = project, env

    def encrypt(self, var: str, plaintext: str) -> str:
        """Ciphertext of ``plaintext`` bound to this project, environment and ``var``."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _aad(self.project, self.env, var))
        return self._head + _b64e(nonce + sealed)


class Decryptor:
    """Decrypts values of one environment; caches one key agreement per ephemeral key.

    ``spare`` gives the environment's other private keys (replaced by `envman rekey`):
    asked for once, and only when the current key does not open a value. ``unopened``
    builds the error for a value no key opens (None: the tampering error).
    """

    def __init__(
        self, project: str, env: str, private_key: str, expected_public: str, *,
        spare: Callable[[], Sequence[str]] | None = None, unopened: Callable[[str], EnvmanError | None] | None = None,
    ) -> None:
        raw = _raw_key(private_key, PRIVATE_PREFIX, f"private key for {env!r}")
        self._key = _x25519().from_private_bytes(raw)
        if public_from_private(private_key) != expected_public.strip():
            raise KeyUnavailable(
                f"the private key given for {env!r} does not match its public key in envman.toml",
                f"it may be another environment's key; provide {env}'s own key",
            )
        self._recipient = _raw_key(expected_public, PUBLIC_PREFIX, f"public key of {env!r}")
        self._cache: dict[str, AESGCM] = {}
        self.project, self.env = project, env
        self._aad_prefix = _aad(project, env, "")
        self._spare_source = spare
        self._spare: list[tuple[Any, bytes]] | None = None  # (key, its public key), loaded on first need
        self._unopened = unopened

        from cryptography.exceptions import InvalidTag

        self._invalid_tag = InvalidTag

    def decrypt(self, var: str, token: str) -> Secret:
        """Plaintext of ``token`` as a Secret; tampering is reported naming the variable."""
        # Runs once per value (10,000 for a large export): no imports or formatting on the good path.
        if not token.startswith(CIPHER_PREFIX):
            raise TamperError(
                f"{self.env}/{var}: tampered: the stored value is not envman ciphertext",
                "it was edited by hand; restore it with `envman rollback` or set it again",
            )
        try:
            epk_text, body_text = token[len(CIPHER_PREFIX):].split(":")
            body = _b64d(body_text)
            aead = self._cache.get(epk_text)
            if aead is None:
                epk = _b64d(epk_text)
                shared = self._key.exchange(_x25519().from_public_bytes(epk))
                aead = self._cache[epk_text] = _derive(shared, epk, self._recipient, self.project, self.env)
            plain = aead.decrypt(body[:12], body[12:], self._aad_prefix + var.encode())
            return Secret(plain.decode("utf-8"))
        except self._invalid_tag:
            spare = self._with_spare_keys(var, epk_text, body)
            if spare is None:
                raise (self._unopened(var) if self._unopened else None) or self.tampered(var) from None
            return Secret(spare)
        except (ValueError, UnicodeDecodeError):
            raise self.tampered(var) from None

    def tampered(self, var: str) -> TamperError:
        return TamperError(
            f"{self.env}/{var}: tampered ciphertext: it does not belong to this variable"
            " (copied from another variable or environment, or edited)",
            "restore it with `envman rollback` or set it again, and find who changed the file",
        )

    def _with_spare_keys(self, var: str, epk_text: str, body: bytes) -> str | None:
        """The plaintext by one of the environment's other keys, remembering which one opened this ephemeral key."""
        if self._spare is None:
            self._spare = []
            for text in self._spare_source() if self._spare_source is not None else ():
                try:
                    key = _x25519().from_private_bytes(_raw_key(text, PRIVATE_PREFIX, "retired key"))
                except InvalidValue:
                    continue  # a damaged retired key opens nothing; the error names the value
                self._spare.append((key, key.public_key().public_bytes_raw()))
        try:
            epk = _b64d(epk_text)
            peer = _x25519().from_public_bytes(epk)
        except ValueError:
            return None
        for key, recipient in self._spare:
            aead = _derive(key.exchange(peer), epk, recipient, self.project, self.env)
            try:
                plain: str = aead.decrypt(body[:12], body[12:], self._aad_prefix + var.encode()).decode("utf-8")
            except self._invalid_tag:
                continue
            except UnicodeDecodeError:
                return None
            self._cache[epk_text] = aead
            return plain
        return None


def mask(value: str) -> str:
    """Masked form such as ``sk-…cdef``: a short type prefix and at most 4 trailing characters."""
    n = len(value)
    if n < 8:
        return "…"
    tail = 4 if n >= 16 else 2
    prefix = ""
    for sep in ("-", "_"):
        i = value.find(sep)
        if 0 < i <= 7 and value[:i].isalnum() and i + 1 <= n // 4 + 1:
            prefix = value[: i + 1]
            break
    return f"{prefix}…{value[-tail:]}"


def fingerprint(salt: str, value: str) -> str:
    """Slow salted hash of a secret, truncated: equal values give equal fingerprints within a project."""
    import hashlib

    digest = hashlib.scrypt(
        value.encode("utf-8"), salt=("envman-fp\x00" + salt).encode(), n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=12
    )
    return FINGERPRINT_PREFIX + digest.hex()


def new_salt() -> str:
    """A random per-project salt for fingerprints."""
    return _b64e(os.urandom(16))


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256, used for the ledger chain and profile hashes."""
    return sha256(data).hexdigest()


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


class _CryptographySha256:
    """SHA-256 from cryptography, with hashlib's update/hexdigest."""

    __slots__ = ("_hash",)

    def __init__(self, data: bytes) -> None:
        from cryptography.hazmat.primitives import hashes

        self._hash = hashes.Hash(hashes.SHA256())
        self._hash.update(data)

    def update(self, data: bytes, /) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.copy().finalize().hex()


def sha256(data: bytes = b"") -> Hasher:
    """A SHA-256 hash object (``update``, ``hexdigest``), for data hashed in pieces.

    Once secrets were decrypted or encrypted, cryptography's own SHA-256 is used:
    hashlib would load a second copy of OpenSSL (~3.5 MB resident, a few ms).
    Otherwise hashlib, which loads faster than cryptography.
    """
    if "cryptography.hazmat.bindings._rust" in sys.modules:
        return _CryptographySha256(data)
    import hashlib

    return hashlib.sha256(data)
