"""The local production stack: the Athena stand-in (moto for S3, Glue and STS; real Trino 476 for
Athena's queries) in a background process that outlives the command that started it.

    PYTHONPATH=tests/python python -m local_prod up    [--state-dir DIR]
    PYTHONPATH=tests/python python -m local_prod env   [--state-dir DIR]
    PYTHONPATH=tests/python python -m local_prod down  [--state-dir DIR]

``up`` starts the stack (``make local-prod-up``: after ``make install`` and ``make trino``),
waits until Trino answers (at most UP_TIMEOUT_S), creates the buckets the settings name and
prints the settings ``make prod`` reads as ``export NAME=value`` lines on stdout (messages go to
stderr), so ``eval "$(make local-prod-up)"`` or ``source .local-prod/env`` points a shell at it;
``make prod FILES=...`` then runs unchanged. When the stack is up already it says so and prints
the same lines. ``env`` prints them again; ``down`` stops the stack, Trino included (it runs in
its own process group), and only says so when nothing runs.

State, outside git (DIR, default ``.local-prod/`` in the repository; ``LOCAL_PROD_DIR``):
``state.json`` (pids, endpoints), ``env`` (the export lines), ``server.log`` (the background
process), ``work/`` (Trino's configuration, data directory and ``trino.log``). S3 and Glue live
in the background process's memory: ``down`` forgets everything that was landed and built.

Errors are one line on stderr naming the problem, exit 1 (e.g. Trino not installed: run make
trino). Test infrastructure: the stand-in is not Athena (see athena_stand_in.py's limits).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = ROOT / ".local-prod"
# Trino's own start-up limit (trino_server.START_TIMEOUT_S) plus moto's, with room to spare.
UP_TIMEOUT_S = 240
DOWN_TIMEOUT_S = 60
LAKE_BUCKET = "lakehouse"
RESULTS_BUCKET = "athena-results"
# The settings `make prod` reads (docs/athena.md), for the local stack.
SETTINGS = {
    "LAKE_S3_URI": f"s3://{LAKE_BUCKET}/",
    "ATHENA_S3_STAGING_DIR": f"s3://{RESULTS_BUCKET}/",
    "ATHENA_S3_DATA_DIR": f"s3://{LAKE_BUCKET}/warehouse/",
    "ATHENA_SCHEMA": "transactions",
    "ATHENA_WORK_GROUP": "primary",
    "LAKE_SSE": "AES256",
}
# Settings of a real account that would send requests elsewhere than the stand-in or pick other
# credentials (a service's own endpoint wins over AWS_ENDPOINT_URL; a named profile may not
# exist), or that only a real account has: unset for the local stack.
UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_GLUE",
    "AWS_ENDPOINT_URL_ATHENA",
    "AWS_ENDPOINT_URL_STS",
    "LAKE_KMS_KEY_ID",
)


class LocalProdError(Exception):
    """One line naming what went wrong."""


class Interrupted(BaseException):
    """SIGTERM or SIGINT while the stack was still starting."""


# ------------------------------------------------------------------------------ settings
def stack_settings(stand_in_env: Mapping[str, str]) -> dict[str, str]:
    """Everything `make prod` needs to reach the stand-in whose ``env`` is given. Its PYTHONPATH
    (a botocore model cache shared by the test processes) is test tuning, not a setting: left
    out of a user's shell."""
    aws = {k: v for k, v in stand_in_env.items() if k != "PYTHONPATH"}
    return {**aws, **SETTINGS}


def export_lines(settings: Mapping[str, str]) -> str:
    lines = [f"unset {' '.join(UNSET)}"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def ensure_buckets(stand_in: Any) -> None:
    from s3_stand_in import ensure_buckets as create

    create(stand_in.s3, LAKE_BUCKET, RESULTS_BUCKET)


# --------------------------------------------------------------------------------- state
class State:
    def __init__(self, directory: Path) -> None:
        self.dir = directory.resolve()
        self.file = self.dir / "state.json"
        self.env_file = self.dir / "env"
        self.log = self.dir / "server.log"
        self.work = self.dir / "work"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One up/down at a time per state directory."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def read(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.file.read_text()))
        except (OSError, ValueError):
            return None

    def write(self, state: dict[str, Any], exports: str) -> None:
        for path, text in ((self.env_file, exports), (self.file, json.dumps(state, indent=2))):
            partial = path.with_suffix(".partial")
            partial.write_text(text)
            partial.replace(path)  # state.json last: it says the stack is ready

    def clear(self) -> None:
        for path in (self.file, self.env_file):
            path.unlink(missing_ok=True)


def _cmdline(pid: int) -> str | None:
    """The process's command line, None when it does not run (or is a zombie)."""
    proc = Path(f"/proc/{pid}")
    try:
        if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return None
        return proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return None


def server_running(state: Mapping[str, Any], store: State) -> bool:
    """The background process of this state directory runs (not another one on a reused pid)."""
    line = _cmdline(int(state.get("pid", 0)))
    return line is not None and "local_prod" in line and str(store.dir) in line


def trino_running(state: Mapping[str, Any], store: State) -> bool:
    line = _cmdline(int(state.get("trino_pid", 0)))
    return line is not None and str(store.work) in line


def _wait_gone(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not check():
            return True
        time.sleep(0.2)
    return not check()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


# ---------------------------------------------------------------------------- commands
def up(store: State) -> str:
    """Starts the stack unless it runs; returns the export lines."""
    with store.locked():
        state = store.read()
        if state and server_running(state, store):
            say(f"already up at {state['endpoint']} (Trino at {state['trino_url']})")
            return store.env_file.read_text()
        if state:
            _stop(store, state)  # leftovers of a stack that died
        _check_installed()
        shutil.rmtree(store.work, ignore_errors=True)
        store.work.mkdir(parents=True)
        child = _spawn(store)
        state = _wait_ready(store, child)
        say(
            f"up at {state['endpoint']} (Trino {state['trino_version']} at {state['trino_url']});"
            f" settings in {store.env_file}; stop with make local-prod-down"
        )
        return store.env_file.read_text()


def env(store: State) -> str:
    state = store.read()
    if not state or not server_running(state, store):
        raise LocalProdError("the local production stack is not running: make local-prod-up")
    return store.env_file.read_text()


def down(store: State) -> None:
    with store.locked():
        state = store.read()
        if not state:
            say("not running, nothing to stop")
            return
        was_running = server_running(state, store)
        _stop(store, state)
        say("stopped" if was_running else "was not running; removed what was left of it")


def _stop(store: State, state: Mapping[str, Any]) -> None:
    """Stops the background process (which stops Trino), then anything it left running."""
    pid = int(state.get("pid", 0))
    if server_running(state, store):
        _signal_group(pid, signal.SIGTERM)
        if not _wait_gone(lambda: server_running(state, store), DOWN_TIMEOUT_S):
            _signal_group(pid, signal.SIGKILL)
    if trino_running(state, store):  # the background process was killed before it stopped it
        trino = int(state["trino_pid"])
        _signal_group(trino, signal.SIGTERM)
        if not _wait_gone(lambda: trino_running(state, store), 30):
            _signal_group(trino, signal.SIGKILL)
    store.clear()


def _check_installed() -> None:
    from trino_server import TrinoUnavailable, java_home, trino_home

    try:
        trino_home()
        java_home()
    except TrinoUnavailable as exc:
        raise LocalProdError(str(exc)) from None


def _spawn(store: State) -> subprocess.Popen[bytes]:
    """The background process: its own session (it outlives make and its terminal), output to
    the log (a pipe would keep `$(make local-prod-up)` waiting)."""
    from s3_stand_in import _CLEARED_ENV

    path = str(ROOT / "tests" / "python")
    child_env = {k: v for k, v in os.environ.items() if k not in _CLEARED_ENV}
    child_env |= {"PYTHONPATH": path, "NO_PROXY": "127.0.0.1,localhost"}
    command = [sys.executable, "-m", "local_prod", "serve", "--state-dir", str(store.dir)]
    with open(store.log, "wb") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_ready(store: State, child: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        state = store.read()
        if state and state.get("pid") == child.pid:
            return state
        if child.poll() is not None:
            last = _last_line(store.log).removeprefix("local-prod: ")
            raise LocalProdError(f"did not start: {last} (log: {store.log})")
        time.sleep(0.5)
    _stop(store, {"pid": child.pid})
    child.wait()
    raise LocalProdError(f"did not start within {UP_TIMEOUT_S} s (log: {store.log})")


def _last_line(path: Path) -> str:
    with contextlib.suppress(OSError):
        for line in reversed(path.read_text(errors="replace").splitlines()):
            if line.strip():
                return line.strip()
    return "no output"


# ---------------------------------------------------------------------- background process
def serve(store: State) -> int:
    """Runs the stack until SIGTERM/SIGINT, or until Trino dies."""
    from athena_stand_in import AthenaStandIn

    stop, started = threading.Event(), threading.Event()

    def on_signal(*_: Any) -> None:
        stop.set()
        if not started.is_set():  # still starting: stop Trino now (finally), not once it is up
            raise Interrupted

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    stand_in = AthenaStandIn(store.work)
    try:
        stand_in.start()
        started.set()
        ensure_buckets(stand_in)
        process = stand_in.trino.process
        assert process is not None
        state = {
            "pid": os.getpid(),
            "endpoint": stand_in.endpoint,
            "trino_pid": process.pid,
            "trino_url": stand_in.trino.url,
            "trino_version": stand_in.trino.version(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        store.write(state, export_lines(stack_settings(stand_in.env)))
        print(f"local-prod: up, {json.dumps(state)}", flush=True)
        while not stop.wait(1.0):
            if process.poll() is not None:
                print(f"local-prod: Trino exited ({process.returncode}): see {stand_in.trino.log}")
                return 1
        print("local-prod: stopping", flush=True)
        return 0
    except Interrupted:
        print("local-prod: stopped while starting", flush=True)
        return 1
    except Exception as exc:
        print(f"local-prod: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return 1
    finally:
        stand_in.stop()
        with contextlib.suppress(OSError):
            state = store.read() or {}
            if state.get("pid") == os.getpid():
                store.clear()
        sys.stdout.flush()


# ------------------------------------------------------------------------------------ CLI
def say(message: str) -> None:
    print(f"local-prod: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local_prod", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "env", "serve"))
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("LOCAL_PROD_DIR") or DEFAULT_STATE_DIR),
        help="where the stack's state lives (default: .local-prod/ in the repository)",
    )
    args = parser.parse_args(argv)
    store = State(args.state_dir)
    try:
        if args.command == "serve":
            return serve(store)
        if args.command == "down":
            down(store)
        else:
            sys.stdout.write(up(store) if args.command == "up" else env(store))
        return 0
    except LocalProdError as exc:
        say(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
