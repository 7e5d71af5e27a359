"""crypto.py and keys.py: authenticated encryption bound to (project, env, var), masks, fingerprints, key sources."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envman.crypto import (
    CIPHER_PREFIX,
    PRIVATE_PREFIX,
    PUBLIC_PREFIX,
    Decryptor,
    Encryptor,
    Secret,
    fingerprint,
    generate_keypair,
    mask,
    new_salt,
    public_from_private,
)
from envman.errors import InvalidValue, KeyUnavailable, TamperError, UsageError
from envman.keys import KEYS_FILE_VAR, env_var_name, locate_private_key, private_key, read_keys_file

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple[str, str]]:
    return {env: generate_keypair() for env in ("test", "production")}


def test_keypair_text_format(pairs: dict[str, tuple[str, str]]) -> None:
    """Keys are tagged text; the public key is derivable from the private one."""
    public, private = pairs["test"]
    assert public.startswith(PUBLIC_PREFIX) and private.startswith(PRIVATE_PREFIX)
    assert public_from_private(private) == public
    assert public_from_private("  " + private + "\n") == public


@settings(deadline=None, max_examples=40)
@given(plaintext=TEXT)
def test_encrypt_decrypt_round_trip(pairs: dict[str, tuple[str, str]], plaintext: str) -> None:
    """Any text encrypted for (project, env, var) decrypts to exactly the same text."""
    public, private = pairs["production"]
    token = Encryptor("demo", "production", public).encrypt("API_KEY", plaintext)
    assert token.startswith(CIPHER_PREFIX)
    assert Decryptor("demo", "production", private, public).decrypt("API_KEY", token).reveal() == plaintext


@pytest.fixture(scope="module")
def generations() -> list[tuple[str, str]]:
    """Four key pairs of one environment, oldest first, as `envman rekey` leaves them."""
    return [generate_keypair() for _ in range(4)]


@settings(deadline=None, max_examples=30)
@given(sealed=st.lists(st.tuples(st.integers(0, 3), TEXT), min_size=1, max_size=8), retired_given=st.sets(st.integers(0, 2)))
def test_retired_keys_open_what_was_sealed_for_them(generations: list[tuple[str, str]], sealed: list[tuple[int, str]],
                                                     retired_given: set[int]) -> None:
    """Values sealed for any key pair the environment had open with the current key plus that retired key, and only so;
    a value no key opens is refused (tampering, or the ``unopened`` error), never returned wrong."""
    current_public, current_private = generations[3]
    tokens = [(gen, text, Encryptor("demo", "production", generations[gen][0]).encrypt("API_KEY", text)) for gen, text in sealed]
    asked: list[int] = []

    def spare() -> list[str]:
        asked.append(1)
        return [generations[g][1] for g in sorted(retired_given)]

    dec = Decryptor("demo", "production", current_private, current_public, spare=spare)
    for gen, text, token in tokens:
        if gen == 3 or gen in retired_given:
            assert dec.decrypt("API_KEY", token).reveal() == text
        else:
            with pytest.raises(TamperError):
                dec.decrypt("API_KEY", token)
    assert len(asked) == (0 if all(gen == 3 for gen, _, _ in tokens) else 1), "retired keys are asked for once, only when needed"
    unopened = Decryptor("demo", "production", current_private, current_public, unopened=lambda var: KeyUnavailable(f"{var} sealed elsewhere"))
    for gen, _, token in tokens:
        if gen != 3:
            with pytest.raises(KeyUnavailable, match="API_KEY sealed elsewhere"):
                unopened.decrypt("API_KEY", token)


def test_same_plaintext_encrypts_differently(pairs: dict[str, tuple[str, str]]) -> None:
    """Fresh nonces (and ephemeral keys per Encryptor): equal secrets are not visible as equal ciphertext."""
    public, _ = pairs["test"]
    enc = Encryptor("demo", "test", public)
    tokens = {enc.encrypt("K", "same"), enc.encrypt("K", "same"), Encryptor("demo", "test", public).encrypt("K", "same")}
    assert len(tokens) == 3


def test_ciphertext_is_bound_to_variable_environment_and_project(pairs: dict[str, tuple[str, str]]) -> None:
    """Moved to another variable, environment or project, a ciphertext fails and is reported as tampering."""
    pub_t, priv_t = pairs["test"]
    pub_p, priv_p = pairs["production"]
    token = Encryptor("demo", "test", pub_t).encrypt("API_KEY", "sk-test-1234567890")
    with pytest.raises(TamperError, match=r"test/OTHER_KEY: tampered"):
        Decryptor("demo", "test", priv_t, pub_t).decrypt("OTHER_KEY", token)
    with pytest.raises(TamperError, match=r"production/API_KEY: tampered"):
        Decryptor("demo", "production", priv_p, pub_p).decrypt("API_KEY", token)
    # the same key pair registered under another environment name or project still refuses it
    with pytest.raises(TamperError):
        Decryptor("demo", "staging", priv_t, pub_t).decrypt("API_KEY", token)
    with pytest.raises(TamperError):
        Decryptor("other", "test", priv_t, pub_t).decrypt("API_KEY", token)


@pytest.mark.parametrize("edit", ["flip", "truncate", "prefix", "colons", "empty"])
def test_edited_ciphertext_is_tampering(pairs: dict[str, tuple[str, str]], edit: str) -> None:
    """Any edit of the stored text is a TamperError naming env/var, never a crash."""
    public, private = pairs["test"]
    token = Encryptor("demo", "test", public).encrypt("API_KEY", "sk-test-1234567890")
    body = token[len(CIPHER_PREFIX):]
    bad = {
        "flip": token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:],
        "truncate": token[:-10],
        "prefix": "envman:v2:" + body,
        "colons": token + ":x",
        "empty": "",
    }[edit]
    with pytest.raises(TamperError, match="test/API_KEY"):
        Decryptor("demo", "test", private, public).decrypt("API_KEY", bad)


def test_wrong_or_corrupted_private_key(pairs: dict[str, tuple[str, str]]) -> None:
    """Another environment's key is a KeyUnavailable; a damaged key is an InvalidValue; neither echoes the key."""
    pub_p, _ = pairs["production"]
    _, priv_t = pairs["test"]
    with pytest.raises(KeyUnavailable, match="does not match its public key") as info:
        Decryptor("demo", "production", priv_t, pub_p)
    assert priv_t[len(PRIVATE_PREFIX):] not in str(info.value)
    for broken in (priv_t[:-5], priv_t.replace(PRIVATE_PREFIX, ""), PRIVATE_PREFIX + "!!!!", "", pub_p):
        with pytest.raises(InvalidValue) as info2:
            Decryptor("demo", "production", broken, pub_p)
        assert "private key" in str(info2.value)
        if len(broken) > len(PRIVATE_PREFIX) + 4:
            assert broken not in str(info2.value)


def test_corrupted_public_key_in_manifest_is_named() -> None:
    """A damaged public key in envman.toml is reported as such (writers need only the public key)."""
    with pytest.raises(InvalidValue, match="public key of 'test'"):
        Encryptor("demo", "test", PUBLIC_PREFIX + "short")


@pytest.mark.parametrize(
    ("value", "masked"),
    [("", "…"), ("short", "…"), ("sk-prod-cccccccccccccccc3333", "sk-…3333"), ("abcdefghij", "…ij"),
     ("ghp_0123456789abcdef0123", "ghp_…0123"), ("verylongprefix-0123456789", "…6789")],
)
def test_mask(value: str, masked: str) -> None:
    """The masked form keeps a short type prefix and at most 4 trailing characters."""
    assert mask(value) == masked


@settings(deadline=None)
@given(TEXT)
def test_mask_never_contains_the_secret(value: str) -> None:
    """For any secret of 8+ characters the masked form is shorter and does not contain it."""
    if len(value) >= 8:
        assert value not in mask(value)
        assert len(mask(value)) < len(value)


def test_fingerprint_is_deterministic_salted_and_opaque() -> None:
    """Equal values match within a project; another salt or value differs; the value never shows."""
    salt, other = new_salt(), new_salt()
    secret = "sk-prod-cccccccccccccccc3333"
    fp = fingerprint(salt, secret)
    assert fp.startswith("fp1:") and fp == fingerprint(salt, secret)
    assert fp != fingerprint(other, secret) and fp != fingerprint(salt, secret + "x")
    assert secret not in fp and "3333" not in fp


def test_secret_type_masks_repr_and_str() -> None:
    """Secret's repr/str show the mask; reveal() returns the plaintext; equality compares values."""
    s = Secret("sk-prod-cccccccccccccccc3333")
    assert "cccccccc" not in repr(s) and "cccccccc" not in str(s) and "cccc" not in f"{s}"
    assert s.reveal() == "sk-prod-cccccccccccccccc3333"
    assert s == Secret("sk-prod-cccccccccccccccc3333") and s != "sk-prod-cccccccccccccccc3333"
    assert len({s, Secret("sk-prod-cccccccccccccccc3333")}) == 1


# -- key sources ------------------------------------------------------------------

def test_env_var_name() -> None:
    """ENVMAN_PRIVATE_KEY_<ENV>: upper-cased, '-' becomes '_'."""
    assert env_var_name("production") == "ENVMAN_PRIVATE_KEY_PRODUCTION"
    assert env_var_name("eu-west-2") == "ENVMAN_PRIVATE_KEY_EU_WEST_2"


def _keys_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_read_keys_file_formats(tmp_path: Path) -> None:
    """Keys files accept comments, blank lines, `export` and quotes."""
    path = _keys_file(tmp_path / "k", "# c\n\nexport ENVMAN_PRIVATE_KEY_A='x1'\nENVMAN_PRIVATE_KEY_B=\"x2\"\nENVMAN_PRIVATE_KEY_C=x3\njunk\n")
    assert read_keys_file(path) == {"ENVMAN_PRIVATE_KEY_A": "x1", "ENVMAN_PRIVATE_KEY_B": "x2", "ENVMAN_PRIVATE_KEY_C": "x3"}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_keys_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    """A keys file that group or others may read is refused with the chmod to run."""
    path = _keys_file(tmp_path / "k", "ENVMAN_PRIVATE_KEY_A=x\n", mode)
    with pytest.raises(KeyUnavailable, match="chmod 600"):
        read_keys_file(path)


def test_missing_keys_file_is_named(tmp_path: Path) -> None:
    """ENVMAN_KEYS_FILE pointing nowhere is a clear KeyUnavailable."""
    with pytest.raises(KeyUnavailable, match="does not exist"):
        read_keys_file(tmp_path / "nope")


def test_key_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENVMAN_PRIVATE_KEY_<ENV> wins over the keys file; each source is named for messages."""
    path = _keys_file(tmp_path / "k", "ENVMAN_PRIVATE_KEY_PRODUCTION=from-file\n")
    monkeypatch.setenv(KEYS_FILE_VAR, str(path))
    assert locate_private_key("demo", "production") == ("from-file", f"ENVMAN_PRIVATE_KEY_PRODUCTION in {path}")
    monkeypatch.setenv("ENVMAN_PRIVATE_KEY_PRODUCTION", "from-env")
    assert private_key("demo", "production") == "from-env"
    assert locate_private_key("demo", "production")[1] == "ENVMAN_PRIVATE_KEY_PRODUCTION"


def test_missing_key_names_both_ways_to_provide_it(tmp_path: Path) -> None:
    """With no variable, no keys file entry and no usable keychain, the message names both ways."""
    with pytest.raises(KeyUnavailable) as info:
        private_key("demo", "staging")
    text = str(info.value)
    assert "ENVMAN_PRIVATE_KEY_STAGING" in text and "keychain" in text


def test_store_in_keyring_without_keychain_reports_false() -> None:
    """With the fail backend (the test default) keys cannot go to a keychain: the caller falls back."""
    from envman.keys import store_in_keyring

    assert store_in_keyring("demo", "test", "x") is False


def test_keyring_never_overwrites_another_projects_key(memory_keyring: object) -> None:
    """A keychain entry for the same project id and env is not replaced (that would lose its secrets)."""
    from envman.keys import store_in_keyring

    assert store_in_keyring("demo", "test", "first") is True
    assert store_in_keyring("demo", "test", "first") is True  # the same key again is fine
    with pytest.raises(UsageError, match="already holds a private key"):
        store_in_keyring("demo", "test", "second")
    assert private_key("demo", "test") == "first"


@settings(max_examples=100)
@given(pieces=st.lists(st.binary(max_size=300), max_size=5))
def test_both_sha256_implementations_agree(pieces: list[bytes]) -> None:
    """Profile and ledger hashes come from cryptography once it is loaded, else from hashlib: the same digest either way."""
    import hashlib

    import envman.crypto

    ours = envman.crypto._CryptographySha256(pieces[0] if pieces else b"")
    for piece in pieces[1:]:
        ours.update(piece)
    assert ours.hexdigest() == ours.hexdigest() == hashlib.sha256(b"".join(pieces)).hexdigest()
    assert isinstance(envman.crypto.sha256(), envman.crypto._CryptographySha256)  # this process has loaded cryptography
