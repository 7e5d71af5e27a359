"""Helpers shared by the scan tests."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from envman.scan import KnownSecret

# Realistic shapes: an OpenAI-style key with a type prefix, a past one, a token
# with no type prefix, and a password that needs escaping in URLs and JSON.
CUR = "sk-Test1aB2cD3eF4gH5iJ6kL7mN8oP9qR0cdef"
PAST = "sk-Past9zY8/xW7vU6+tS5~~~rQ4pO3nM2lK1wxyz"
TOKEN = "3f9a0b7c1d2e4f6a8b9c0d1e2f3a4b5c6d7e8f90"
PASSWORD = 'pä$$ wörd/"quoted"&1234567'


def mask(value: str) -> str:
    """The masked shape envman stores: a type prefix up to the first '-', then the last 4 characters."""
    head, sep, _ = value.partition("-")
    prefix = head + sep if sep and len(head) <= 7 and head.isalnum() else ""
    return f"{prefix}…{value[-4:]}"


class CountingFingerprint:
    """sha256 instead of scrypt, counting calls so tests can check the cache."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value: str) -> str:
        self.calls += 1
        return "fp1:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:24]


FP = CountingFingerprint()


def secret(value: str, *, env: str = "production", var: str = "API_KEY", version: int = 1, current: bool = True) -> KnownSecret:
    """A keyed KnownSecret for ``value``."""
    return KnownSecret(env, var, version, current, mask(value), FP(value), value)


def keyless(s: KnownSecret) -> KnownSecret:
    """The same secret as seen without the private key."""
    return KnownSecret(s.env, s.var, s.version, s.current, s.masked, s.fingerprint)


def position(text: str, needle: str, start: int = 0) -> tuple[int, int]:
    """1-based (line, column in characters) of ``needle`` in ``text``."""
    idx = text.index(needle, start)
    return text.count("\n", 0, idx) + 1, idx - (text.rfind("\n", 0, idx) + 1) + 1


@dataclass
class GitRepo:
    """A throw-away repository driven through the git command line."""

    path: Path

    @classmethod
    def create(cls, path: Path) -> GitRepo:
        path.mkdir(parents=True)
        repo = cls(path)
        repo.git("init", "-q", "-b", "main")
        return repo

    def git(self, *args: str) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        return subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=True).stdout

    def write(self, rel: str, text: str | bytes) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return p

    def commit(self, message: str, files: dict[str, str | bytes | None] | None = None) -> str:
        """Write (or delete, for None) the files, commit, and return the new commit's sha."""
        for rel, text in (files or {}).items():
            if text is None:
                self.git("rm", "-q", rel)
            else:
                self.write(rel, text)
                self.git("add", rel)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def distinct_blobs(self) -> set[str]:
        objects = self.git("rev-list", "--objects", "--all")
        ids = "\n".join(line.split()[0] for line in objects.splitlines()) + "\n"
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
        out = subprocess.run(
            ["git", "cat-file", "--batch-check"], cwd=self.path, input=ids, capture_output=True, text=True, check=True, env=env
        ).stdout
        return {line.split()[0] for line in out.splitlines() if line.split()[1] == "blob"}
