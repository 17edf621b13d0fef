"""Run untrusted, model-generated Python in a confined, time- and memory-limited child process.

Used by the evaluation harness to see whether a code answer parses, runs and passes the
question's assertions. This is defence in depth, NOT a virtual machine: each layer below
narrows what the code can do, and where the platform lacks a layer the others still hold.
Every result lists the layers that were really active (`RunResult.layers`).

1. **Process** (always): a fresh interpreter, ``python -I -S -B`` (no PYTHON* variables, no
   site-packages, no user site, no .pyc writes), in its own session, killed as a whole group
   at the wall-clock limit. Its working directory, HOME and TMPDIR are an empty temporary
   directory (the *sandbox*), deleted afterwards; the environment holds nothing else of the
   user's. stdin carries only a nonce; stdout/stderr go to files outside the sandbox.
2. **rlimits** (always on POSIX): address space, CPU seconds, size of any file written
   (stdout included), open files, no core dumps. Set by the child itself before the code
   runs (soft = hard, so the code cannot raise them), not in a pre-exec hook, because the
   parent is multi-threaded (llama.cpp).
3. **Network namespace** (``unshare --net``, Linux where user namespaces are allowed): the
   child has no network interface but a loopback that is down.
4. **Landlock** (Linux >= 5.13, applied by the child to itself): the kernel lets it read only
   the Python standard library, system library directories, a few device files and the
   sandbox; write, create, delete and rename only inside the sandbox; execute nothing.
   ABI >= 4 also denies TCP bind/connect; ABI >= 6 denies signals to processes outside.
5. **Audit hook** (PEP 578, always): refuses socket creation and name lookups, process
   creation (fork, exec, subprocess, os.system, posix_spawn), signals to other processes,
   ctypes and other native-escape modules, gc introspection and tracing, changing rlimits,
   and every file operation outside the sandbox (writes, deletes, renames, chmod...) or
   outside the read roots (reads, listings, opening directories). Relative paths may not
   climb with "..", and symlinks and hard links cannot be made, so descriptor-relative calls
   stay inside. Paths are resolved with symlinks followed, using only functions captured
   when the hook was installed, so monkeypatching os or builtins does not blind it.

Known limits, honestly. The audit hook runs inside the untrusted interpreter and sees only
what CPython audits: stdlib C code without an audit event (os.mkfifo, os.mknod) and
deliberate attacks on the interpreter get past it (frames stay reachable because the stdlib
needs sys._getframe, and through them the hook's helpers; a second thread can race the
hook's check). The kernel layers are what hold then, and Landlock does not cover file
metadata (chmod, chown, utime). Without the kernel layers (macOS, old kernels, containers
without user namespaces) the sandbox is only as strong as the hook. The pass verdict is the
same: code written to attack this harness can forge it, ordinary wrong code cannot
(``sys.exit(0)`` or ``os._exit(0)`` before the check is no pass). Files written inside the
sandbox are limited in size, not in number. The code runs as the user, with the stdlib only.

This module is also the child's entry point (``python -I -S sandbox.py CONFIG``), so it
imports nothing outside the standard library.
"""

from __future__ import annotations

import ast
import errno
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

__all__ = ["CodeScore", "RunResult", "SandboxLimits", "extract_code", "isolation_layers", "run_code", "score_code"]

#: outcome of one run; "ran" is a clean run of code that had no check
Status = Literal["passed", "failed", "ran", "error", "blocked", "timeout", "memory", "syntax_error", "no_code"]

PYTHON_TAGS = frozenset({"", "python", "python3", "py", "py3"})
# A Markdown fence: ``` or ~~~, an optional info string, then the body up to the closing
# fence; an unclosed fence (an answer cut at max tokens) runs to the end of the text.
_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*\n(.*?)(?:^[ \t]*\2[`~]*[ \t]*$|\Z)", re.S | re.M)
_BLOCKED_MESSAGE = "sandbox: "
_STREAM_TAIL = 4000  # characters of stdout/stderr kept in a result

# Landlock (linux/landlock.h): syscall numbers are the same on every architecture.
_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446
_LL_VERSION, _LL_RULE_PATH_BENEATH, _PR_SET_NO_NEW_PRIVS = 1, 1, 38
_LL_EXECUTE, _LL_WRITE_FILE, _LL_READ_FILE, _LL_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_LL_TRUNCATE, _LL_IOCTL_DEV = 1 << 14, 1 << 15
_LL_FILE_RIGHTS = _LL_EXECUTE | _LL_WRITE_FILE | _LL_READ_FILE | _LL_TRUNCATE | _LL_IOCTL_DEV
_LL_FS_BITS_BY_ABI = {1: 13, 2: 14, 3: 15, 4: 15}  # filesystem access bits each ABI knows; 16 from ABI 5


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits and which isolation layers to use (all of them by default)."""

    seconds: float = 10.0  # wall clock for the code and its check; CPU time is capped just above it
    memory_mb: int = 512  # address space of the child interpreter
    file_mb: int = 8  # largest file the child may write, its stdout and stderr included
    open_files: int = 64
    # Layers can be switched off one at a time: the tests show that each one holds on its own.
    audit_hook: bool = True
    landlock: bool = True
    network_namespace: bool = True


@dataclass(frozen=True)
class RunResult:
    """What happened to one piece of code (and its check) in the sandbox."""

    status: Status
    ran: bool  # the code itself ran to its end
    passed: bool | None  # the check ran to its end; None when there was no check
    returncode: int | None
    detail: str  # one line: the exception, or what stopped the run
    stdout: str  # the last few thousand characters
    stderr: str
    seconds: float
    layers: tuple[str, ...]  # isolation layers that were active


@dataclass(frozen=True)
class CodeScore:
    """Scoring of one model output that should contain Python code."""

    found: bool  # a Python code block was found
    parses: bool
    runs: bool
    passes: bool | None  # None when the question has no check
    status: Status
    detail: str
    code: str
    seconds: float
    layers: tuple[str, ...]


# -- extraction ----------------------------------------------------------------------------------


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return False
    return True


def extract_code(text: str) -> str | None:
    """The Python code in a Markdown answer, or None.

    Fenced blocks tagged python (or untagged) count; blocks in other languages do not. All of
    them together when they parse as one program (a definition, then a usage example),
    otherwise the longest block that parses, otherwise the longest block. A reply without
    fences counts only if it parses and holds more than bare expressions (so prose such as
    "Yes" is not code).
    """
    blocks = []
    for match in _FENCE.finditer(text):
        indent, tag, body = match.group(1), match.group(3).lower(), match.group(4)
        if tag in PYTHON_TAGS:
            # A block inside a list item is indented as a whole.
            body = textwrap.dedent(body) if indent else body
            if body.strip():
                blocks.append(body.strip("\n"))
    if blocks:
        joined = "\n\n".join(blocks)
        if _parses(joined):
            return joined
        return max([b for b in blocks if _parses(b)] or blocks, key=len)
    if "```" in text or "~~~" in text:
        return None  # only blocks in other languages
    bare = textwrap.dedent(text).strip("\n")
    if bare.strip() and _parses(bare) and any(not isinstance(s, ast.Expr) for s in ast.parse(bare).body):
        return bare
    return None


# -- the parent side -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _netns_prefix() -> tuple[str, ...]:
    """The `unshare` command line that gives the child an empty network namespace, or ()."""
    exe = shutil.which("unshare")
    if exe is None or not sys.platform.startswith("linux"):
        return ()
    for flags in (("--net", "--map-current-user"), ("--net", "--map-root-user"), ("--net",)):
        try:
            probe = subprocess.run([exe, *flags, "--", "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return (exe, *flags, "--")
    return ()


@lru_cache(maxsize=1)
def _read_roots() -> tuple[str, ...]:
    """What the child may read: the stdlib, shared libraries, time zones, harmless devices."""
    candidates = [
        sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"),
        "/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/share/zoneinfo",
        "/etc/ld.so.cache", "/etc/localtime", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random",
    ]
    roots: list[str] = []
    for path in candidates:
        real = os.path.realpath(path)
        if os.path.exists(real) and real not in roots:
            roots.append(real)
    return tuple(roots)


def _remove_tree(path: Path) -> None:
    """Delete the run directory even where the code took permissions away inside it."""

    def retry(function: Any, failed: str, _exc: object) -> None:
        try:
            os.chmod(os.path.dirname(failed), 0o700)
            if os.path.isdir(failed) and not os.path.islink(failed):
                os.chmod(failed, 0o700)
            function(failed)
        except OSError:
            pass  # left for the system's tmp cleaning; never worth failing a score over

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)


def run_code(code: str, check: str | None = None, limits: SandboxLimits = SandboxLimits()) -> RunResult:
    """Run `code`, then `check` (assertions) in the same namespace, in the sandbox.

    The code runs as a module named ``__answer__``, so an ``if __name__ == "__main__":``
    block in it does not run. Never raises for anything the code does.
    """
    run_dir = Path(tempfile.mkdtemp(prefix="seqmoe-sandbox-"))
    sandbox = run_dir / "work"
    sandbox.mkdir()
    try:
        (run_dir / "answer.py").write_text(code, encoding="utf-8")
        if check is not None:
            (run_dir / "check.py").write_text(check, encoding="utf-8")
        prefix = _netns_prefix() if limits.network_namespace else ()
        settings = {
            "sandbox": os.path.realpath(sandbox),
            "answer": str(run_dir / "answer.py"),
            "check": str(run_dir / "check.py") if check is not None else None,
            "read_roots": list(_read_roots()),
            "seconds": limits.seconds,
            "memory_mb": limits.memory_mb,
            "file_mb": limits.file_mb,
            "open_files": limits.open_files,
            "audit_hook": limits.audit_hook,
            "landlock": limits.landlock,
        }
        command = [*prefix, sys.executable, "-I", "-S", "-B", "-X", "utf8", str(Path(__file__).resolve()),
                   json.dumps(settings)]
        env = {"HOME": str(sandbox), "TMPDIR": str(sandbox), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
               "LC_ALL": "C.UTF-8"}
        nonce = secrets.token_hex(16)
        started = time.perf_counter()
        timed_out = False
        with open(run_dir / "stdout", "wb") as out, open(run_dir / "stderr", "wb") as err:
            process = subprocess.Popen(command, cwd=sandbox, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err,
                                       start_new_session=True, close_fds=True)
            try:
                assert process.stdin is not None
                process.stdin.write(f"{nonce}\n".encode())
                process.stdin.close()
            except BrokenPipeError:
                pass  # the child died at once; its stderr says why
            try:
                # The interpreter's start-up is not the code's time: one second of grace.
                process.wait(timeout=limits.seconds + 1.0)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(process)
        seconds = time.perf_counter() - started
        stdout = (run_dir / "stdout").read_text(encoding="utf-8", errors="replace")
        stderr = (run_dir / "stderr").read_text(encoding="utf-8", errors="replace")
    finally:
        _remove_tree(run_dir)
    return _result(nonce, stdout, stderr, process.returncode, timed_out, seconds, limits, check is not None,
                   ("network-namespace",) if prefix else ())


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _result(
    nonce: str, stdout: str, stderr: str, returncode: int | None, timed_out: bool, seconds: float,
    limits: SandboxLimits, has_check: bool, outer_layers: tuple[str, ...],
) -> RunResult:
    markers: dict[str, str] = {}
    kept = []
    for line in stdout.splitlines():
        if line.startswith(nonce + " "):
            stage, _, value = line[len(nonce) + 1:].partition(" ")
            markers[stage] = value
        else:
            kept.append(line)
    layers = (*outer_layers, *[layer for layer in markers.get("layers", "").split(",") if layer])
    ran, passed = "ran" in markers, "passed" in markers
    lines = [err_line for err_line in stderr.splitlines() if err_line.strip()]
    last = lines[-1].strip() if lines else ""
    status: Status
    if timed_out or returncode == -signal.SIGXCPU:
        status, detail = "timeout", f"stopped at the {limits.seconds:g} s time limit"
    elif passed:
        status, detail = "passed", ""
    elif "MemoryError" in stderr:
        status, detail = "memory", f"ran out of the {limits.memory_mb} MB memory limit"
    elif _BLOCKED_MESSAGE in last:
        status, detail = "blocked", last
    elif f"[Errno {errno.EFBIG}]" in last:  # Python ignores SIGXFSZ, so the write fails instead
        status, detail = "error", f"wrote more than the {limits.file_mb} MB file size limit"
    elif ran and has_check and last.startswith("AssertionError"):
        status, detail = "failed", last
    elif ran and not has_check and returncode == 0:
        status, detail = "ran", ""
    elif returncode is not None and returncode < 0:
        status, detail = "error", f"killed by {signal.Signals(-returncode).name}"
    elif ran and has_check and returncode == 0:
        status, detail = "error", "exited before its check finished"
    elif not ran and returncode == 0:
        status, detail = "error", "exited before the code finished"
    else:
        status, detail = "error", last or f"exit status {returncode}"
    return RunResult(
        status=status, ran=ran, passed=passed if has_check else None, returncode=returncode, detail=detail[:300],
        stdout="\n".join(kept)[-_STREAM_TAIL:], stderr=stderr[-_STREAM_TAIL:], seconds=seconds, layers=layers,
    )


def score_code(text: str, check: str | None, limits: SandboxLimits = SandboxLimits()) -> CodeScore:
    """Extract the code from a model's Markdown output, parse it, run it with `check`."""
    code = extract_code(text)
    if code is None:
        return CodeScore(found=False, parses=False, runs=False, passes=False if check is not None else None,
                         status="no_code", detail="no Python code block in the output", code="", seconds=0.0,
                         layers=())
    try:
        ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        where = f"line {exc.lineno}: " if isinstance(exc, SyntaxError) and exc.lineno else ""
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return CodeScore(found=True, parses=False, runs=False, passes=False if check is not None else None,
                         status="syntax_error", detail=f"{where}{message}", code=code, seconds=0.0, layers=())
    result = run_code(code, check, limits)
    return CodeScore(found=True, parses=True, runs=result.ran, passes=result.passed, status=result.status,
                     detail=result.detail, code=code, seconds=result.seconds, layers=result.layers)


@lru_cache(maxsize=1)
def isolation_layers() -> tuple[str, ...]:
    """The layers this machine really provides, found by running an empty program once."""
    return run_code("pass").layers


# -- the child side ------------------------------------------------------------------------------


def _set_rlimits(settings: dict[str, Any]) -> bool:
    """Apply every limit (soft = hard); False when the platform refused one of them."""
    import resource

    mb = 1024 * 1024
    applied = True
    cpu = math.ceil(settings["seconds"]) + 1
    for limit, value in (
        (resource.RLIMIT_AS, settings["memory_mb"] * mb),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, settings["file_mb"] * mb),
        (resource.RLIMIT_NOFILE, settings["open_files"]),
        (resource.RLIMIT_CORE, 0),
    ):
        _, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # macOS refuses some (RLIMIT_AS): keep the others
            applied = False
    return applied


def _landlock(sandbox: str, read_roots: list[str]) -> list[str]:
    """Confine this process with Landlock; returns the layers applied ([] when unavailable)."""
    import struct

    if not sys.platform.startswith("linux"):
        return []  # the syscall numbers mean something else elsewhere

    try:
        import ctypes
    except ImportError:
        return []
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        abi = syscall(_LL_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_LL_VERSION))
        if abi < 1:
            return []
        fs = (1 << _LL_FS_BITS_BY_ABI.get(abi, 16)) - 1
        net = 0b11 if abi >= 4 else 0  # TCP bind and connect: handled, and no rule allows any port
        scoped = 0b11 if abi >= 6 else 0  # abstract unix sockets and signals outside the domain
        attr = struct.pack("=QQQ", fs, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
        ruleset = syscall(_LL_CREATE, ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
        if ruleset < 0:
            return []
        reads = _LL_READ_FILE | _LL_READ_DIR
        rules = [(sandbox, fs & ~_LL_EXECUTE)] + [(root, reads) for root in read_roots]
        rules.append(("/dev/null", _LL_READ_FILE | _LL_WRITE_FILE))
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            if not os.path.isdir(path):
                access &= _LL_FILE_RIGHTS
            rule = struct.pack("=Qi", access & fs, fd)
            syscall(_LL_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_LL_RULE_PATH_BENEATH), ctypes.c_char_p(rule),
                    ctypes.c_uint32(0))
            os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or syscall(_LL_RESTRICT, ctypes.c_int(ruleset),
                                                                        ctypes.c_uint32(0)) != 0:
            return []
        os.close(ruleset)
        return ["landlock-fs"] + (["landlock-net"] if net else []) + (["landlock-signals"] if scoped else [])
    except (OSError, AttributeError):
        return []
    finally:
        # The code must not find ctypes already imported: a fresh import is refused by the hook.
        for name in [m for m in sys.modules if m == "_ctypes" or m == "ctypes" or m.startswith("ctypes.")]:
            del sys.modules[name]


_DENIED_EVENTS = (
    "socket.", "ctypes.", "syslog.", "subprocess.", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
    "os.fork", "os.kill", "signal.pthread_kill", "pty.", "os.startfile", "resource.setrlimit", "resource.prlimit",
    "sys.addaudithook", "sys.settrace", "sys.setprofile", "gc.get_",
    "http.client.", "urllib.", "ftplib.", "smtplib.", "imaplib.", "poplib.", "nntplib.", "telnetlib.",
    "webbrowser.", "sqlite3.enable_load_extension", "sqlite3.load_extension", "os.link", "os.symlink",
)
_DENIED_IMPORTS = (
    "ctypes", "_ctypes", "_posixsubprocess", "_posixshmem", "_multiprocessing", "_xxsubinterpreters", "_tkinter",
    "readline", "_dbm", "_gdbm", "_curses", "ossaudiodev", "nis", "spwd", "_ctypes_test", "_xxtestfuzz",
)
# event -> positions of the paths it writes. A dir_fd argument needs no check of its own: the
# only directories the code can open are in the sandbox, and relative paths may not use "..".
_WRITE_EVENTS: dict[str, tuple[int, ...]] = {
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.chmod": (0,), "os.chown": (0,),
    "os.utime": (0,), "os.truncate": (0,), "os.setxattr": (0,), "os.removexattr": (0,), "os.chflags": (0,),
    "os.lchflags": (0,), "shutil.rmtree": (0,), "shutil.move": (0, 1), "shutil.copyfile": (1,),
    "shutil.copytree": (1,), "shutil.copymode": (1,), "shutil.copystat": (1,), "shutil.chown": (0,),
    "shutil.unpack_archive": (1,), "shutil.make_archive": (0,), "sqlite3.connect": (0,),
}
_READ_EVENTS = {"os.listdir": 0, "os.scandir": 0, "os.getxattr": 0, "os.listxattr": 0}


def _audit_hook(sandbox: str, read_roots: list[str]) -> Any:
    """Build the hook. Every name it uses is bound here, so patching modules or builtins later cannot change it."""
    import pathlib
    import stat

    type_, str_, bytes_, int_ = type, str, bytes, int
    deny_error, os_error, blocked = PermissionError, OSError, _BLOCKED_MESSAGE
    getcwd, lstat, stat_, readlink, fspath = os.getcwd, os.lstat, os.stat, os.readlink, os.fspath
    is_link, is_dir = stat.S_ISLNK, stat.S_ISDIR
    path_types = (pathlib.PosixPath, pathlib.PurePosixPath, os.DirEntry)
    protected = (pathlib.PurePath, pathlib.PurePosixPath, pathlib.Path, pathlib.PosixPath)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    writable = (sandbox,)
    readable = (sandbox, *read_roots)
    denied_events, denied_imports = _DENIED_EVENTS, _DENIED_IMPORTS
    write_events, read_events = _WRITE_EVENTS, _READ_EVENTS

    def deny(what: str) -> PermissionError:
        return deny_error(blocked + what + " is not allowed")

    def resolve(path: Any) -> str:
        # What the kernel will reach: absolute, '.' and '..' applied, symlinks followed.
        if type_(path) is bytes_:
            path = path.decode("utf-8", "surrogateescape")
        elif type_(path) in path_types:
            path = fspath(path)
        if type_(path) is not str_:
            raise deny("a path of type " + type_(path).__name__)
        if not path.startswith("/"):
            # Relative to a dir_fd, which the hook does not see for "open": no climbing out of it.
            if "/../" in "/" + path + "/":
                raise deny("a relative path with '..'")
            path = getcwd() + "/" + path
        pending = path.split("/")
        pending.reverse()
        resolved, hops = "", 0
        while pending:
            part = pending.pop()
            if part == "" or part == ".":
                continue
            if part == "..":
                resolved = resolved[: resolved.rfind("/")] if resolved else ""
                continue
            candidate = resolved + "/" + part
            try:
                mode = lstat(candidate).st_mode
            except os_error:
                resolved = candidate  # does not exist (yet): the rest is taken literally
                continue
            if is_link(mode):
                hops += 1
                if hops > 40:
                    raise deny("a symlink loop")
                target = readlink(candidate)
                if target.startswith("/"):
                    resolved = ""
                more = target.split("/")
                more.reverse()
                pending.extend(more)
            else:
                resolved = candidate
        return resolved or "/"

    def inside(path: str, roots: tuple[str, ...]) -> bool:
        for root in roots:
            if path == root or path.startswith(root + "/"):
                return True
        return False

    def check(path: Any, roots: tuple[str, ...], verb: str) -> None:
        real = resolve(path)
        if not inside(real, roots):
            raise deny(verb + " " + real)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            if type_(path) is int_:
                return  # wrapping a descriptor the process already holds
            if (type_(flags) is int_ and flags & write_flags) or (type_(mode) is str_ and (
                    "w" in mode or "a" in mode or "x" in mode or "+" in mode)):
                check(path, writable, "writing")
                return
            real = resolve(path)
            if not inside(real, readable):
                raise deny("reading " + real)
            if not inside(real, writable):
                try:
                    directory = is_dir(stat_(real).st_mode)
                except os_error:
                    directory = False
                if directory:
                    raise deny("opening the directory " + real)  # it could serve as a dir_fd
            return
        if event.startswith(denied_events):
            raise deny(event)
        if event == "import":
            name = args[0]
            if type_(name) is str_ and (name in denied_imports or name.startswith(("_test", "ctypes."))):
                raise deny("importing " + name)
            return
        if event in write_events:
            for position in write_events[event]:
                if event == "sqlite3.connect" and (args[0] == ":memory:" or args[0] == ""):
                    continue
                if type_(args[position]) is int_:
                    raise deny(event + " on a file descriptor")
                check(args[position], writable, event)
            return
        if event in read_events:
            target = args[read_events[event]]
            if target is not None and type_(target) is not int_:
                check(target, readable, event)
            return
        if event == "os.chdir":
            if type_(args[0]) is int_:
                raise deny("os.chdir to a descriptor")
            check(args[0], writable, "os.chdir to")
            return
        if event == "object.__setattr__" or event == "object.__delattr__":
            if args[1] == "__code__" or (type_(args[0]) is type_ and args[0] in protected):
                raise deny("changing " + str_(args[1]))

    return hook


def _child(settings_json: str) -> None:
    """The child's main: limits, Landlock, the audit hook, then the code and its check."""
    import builtins
    import linecache
    import types

    settings = json.loads(settings_json)
    nonce = sys.stdin.readline().strip()
    with open(settings["answer"], encoding="utf-8") as handle:
        code = handle.read()
    check = None
    if settings["check"] is not None:
        with open(settings["check"], encoding="utf-8") as handle:
            check = handle.read()
    layers = ["rlimits" if _set_rlimits(settings) else "rlimits-partial"]
    if settings["landlock"]:
        layers += _landlock(settings["sandbox"], settings["read_roots"])
    # Everything used after the code starts is bound now: the code can patch modules and builtins.
    write, leave, run, compile_ = os.write, os._exit, exec, compile
    stdout, stderr = sys.stdout, sys.stderr
    pristine = dict(builtins.__dict__)
    ran = f"\n{nonce} ran\n".encode()
    passed = f"\n{nonce} passed\n".encode()
    # A real module, so that dataclasses, pickle and typing can look the answer up by name.
    module = types.ModuleType("__answer__")
    sys.modules["__answer__"] = module
    namespace = module.__dict__
    # Tracebacks show source lines, although the files themselves are out of reach.
    linecache.cache["answer.py"] = (len(code), None, code.splitlines(True), "answer.py")
    if check is not None:
        linecache.cache["check.py"] = (len(check), None, check.splitlines(True), "check.py")
    if settings["audit_hook"]:
        sys.addaudithook(_audit_hook(settings["sandbox"], settings["read_roots"]))
        layers.append("audit-hook")
    write(1, f"\n{nonce} layers {','.join(layers)}\n".encode())
    # An exception propagates: the interpreter prints its traceback and exits with status 1.
    run(compile_(code, "answer.py", "exec", dont_inherit=True), namespace)
    stdout.flush()
    stderr.flush()
    write(1, ran)
    if check is not None:
        # The check sees the answer's names, with builtins as they were before the answer ran.
        run(compile_(check, "check.py", "exec", dont_inherit=True), {**namespace, "__builtins__": pristine})
        stdout.flush()
        stderr.flush()
        write(1, passed)
    leave(0)  # skip atexit handlers and the wait for threads the code may have left running


if __name__ == "__main__":
    _child(sys.argv[1])
