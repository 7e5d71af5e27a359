"""Programs the reliability tests run as separate processes (not a test module).

``python workers.py loop JOB``
    Runs envman commands one after the other through the real entry point
    (``envman.cli.main``) in this one process, and prints one JSON line per
    command. JOB is JSON: ``{"commands": [{"argv": [...], "stdin": "..."}, ...],
    "retry": ["changed by someone else", ...], "pause": seconds}`` — a refusal whose
    message holds one of the ``retry`` words is re-run, as a user would (counted
    as attempts); ``pause`` spaces the commands out.
    The process prints ``ready`` and waits for a line on stdin before starting,
    so that all writers start together.

``python workers.py crash-driver``
    A fork server for the crash tests: envman is imported once, then each JSON
    line on stdin ``{"argv": [...], "stdin": "...", "kill_at": K, "how": "before"|"after"|"half"|"torn"}``
    forks a child that runs the command and SIGKILLs itself at its K-th file
    system step (``os.open``/``write``/``fsync``/``replace``/...): before the step,
    after it, or (for a write) after writing half of the bytes; "torn" kills it
    halfway through its first write to the ledger, whatever K. The reply is
    ``{"killed": bool, "code": N, "steps": n, "op": "write"}``.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sys
import time
from typing import Any

STEP_OPS = ("open", "write", "fsync", "replace", "rename", "ftruncate", "fchmod", "unlink", "mkdir", "close")


def call(argv: list[str], stdin_text: str | None = None) -> tuple[int, str, str]:
    """Run ``envman ARGV`` in this process; (exit code, stdout, stderr)."""
    from envman.cli import main

    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO((stdin_text or "").encode("utf-8")), encoding="utf-8")
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, out, err
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def loop(job: dict[str, Any]) -> None:
    import envman.cli.core  # noqa: F401 - import before the start signal, not while racing

    retry = tuple(job.get("retry", ()))
    rng = random.Random(job.get("seed", 0))
    print("ready", flush=True)
    sys.stdin.readline()
    for command in job["commands"]:
        attempts = 0
        while True:
            attempts += 1
            code, out, err = call(command["argv"], command.get("stdin"))
            if code == 2 and retry and any(word in err for word in retry) and attempts < 500:
                time.sleep(rng.random() * 0.01 * min(attempts, 10))  # back off like a user re-running it
                continue
            break
        print(json.dumps({"argv": command["argv"], "code": code, "stdout": out, "stderr": err, "attempts": attempts}), flush=True)
        time.sleep(job.get("pause", 0))  # pacing, so that slower commands (promote) find gaps between writes


class _Kill:
    """Counts file system steps and SIGKILLs the process at step ``at``."""

    def __init__(self, at: int, how: str, report: int) -> None:
        self.at, self.how, self.report = at, how, report
        self.steps = 0
        self.real_write = os.write  # the report itself is not a step
        self.ledger_fds: set[int] = set()

    def die(self, op: str) -> None:
        self.real_write(self.report, json.dumps({"op": op, "step": self.steps}).encode() + b"\n")
        os.kill(os.getpid(), signal.SIGKILL)

    def wrap(self, op: str, real: Any) -> Any:
        def step(*args: Any, **kwargs: Any) -> Any:
            self.steps += 1
            if self.how == "torn":  # only the ledger append, torn in the middle of its line
                if op == "open" and str(args[0]).endswith("ledger.jsonl"):
                    fd = real(*args, **kwargs)
                    self.ledger_fds.add(fd)
                    return fd
                if op == "write" and args[0] in self.ledger_fds:
                    real(args[0], bytes(args[1])[: max(1, len(args[1]) // 2)])
                    self.die("write-half-ledger")
                return real(*args, **kwargs)
            if self.steps == self.at:
                if op == "write" and self.how == "half" and len(args) == 2:
                    fd, data = args
                    real(fd, bytes(data)[: max(1, len(data) // 2)])
                    self.die("write-half")
                if self.how in ("before", "half"):
                    self.die(op)
                result = real(*args, **kwargs)
                self.die(op + "-after")
                return result
            return real(*args, **kwargs)

        return step


def crash_driver() -> None:
    import envman.checks
    import envman.cli.core
    import envman.cli.lifecycle
    import envman.cli.ownership
    import envman.ledger
    import envman.lifecycle
    import envman.ops
    import envman.store.files  # noqa: F401 - imported once here, not in every child

    for line in sys.stdin:
        trial = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run one command and die at the chosen step
            os.close(read_fd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            kill = _Kill(int(trial["kill_at"]), trial.get("how", "before"), write_fd)
            for op in STEP_OPS:
                setattr(os, op, kill.wrap(op, getattr(os, op)))
            code, _, _ = call(trial["argv"], trial.get("stdin"))
            kill.real_write(write_fd, json.dumps({"op": "", "step": kill.steps, "code": code}).encode() + b"\n")
            os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as fh:
            said = fh.read()
        _, status = os.waitpid(pid, 0)
        info = json.loads(said.splitlines()[-1]) if said.strip() else {}
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        reply = {"killed": killed, "code": info.get("code"), "steps": info.get("step", 0), "op": info.get("op", "")}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "loop":
        loop(json.loads(sys.argv[2]))
    elif sys.argv[1] == "crash-driver":
        crash_driver()
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]!r}")
