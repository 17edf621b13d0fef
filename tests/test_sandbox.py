"""The code sandbox: extraction from Markdown, scoring, and what untrusted code cannot do.

Network tests only ever connect to 127.0.0.1, to a listener this test opens.
"""

from __future__ import annotations

import dis
import socket
import sys
import time
import types
from pathlib import Path

import pytest

from seqmoe_local import sandbox
from seqmoe_local.sandbox import SandboxLimits, extract_code, isolation_layers, run_code, score_code

FAST = SandboxLimits(seconds=5)


def fenced(code: str, tag: str = "python") -> str:
    return f"Here you go:\n\n```{tag}\n{code}\n```\n\nThis works because..."


# -- extraction ----------------------------------------------------------------------------------


def test_extract_tagged_block_from_prose() -> None:
    assert extract_code(fenced("def f(x):\n    return x + 1")) == "def f(x):\n    return x + 1"


def test_extract_untagged_and_tilde_fences() -> None:
    assert extract_code("```\nx = 1\n```") == "x = 1"
    assert extract_code("~~~py\ny = 2\n~~~") == "y = 2"


def test_extract_unclosed_fence_of_a_cut_answer() -> None:
    assert extract_code("Sure:\n```python\ndef f():\n    return 1\n") == "def f():\n    return 1"


def test_extract_joins_definition_and_usage_blocks() -> None:
    text = fenced("def f(x):\n    return 2 * x") + "\nUsage:\n" + fenced("print(f(3))")
    assert extract_code(text) == "def f(x):\n    return 2 * x\n\nprint(f(3))"


def test_extract_prefers_the_longest_block_that_parses_when_they_do_not_join() -> None:
    text = fenced("def area(r):\n    return 3.14159 * r * r") + fenced(">>> area(1)\n3.14159")
    assert extract_code(text) == "def area(r):\n    return 3.14159 * r * r"


def test_extract_dedents_a_block_inside_a_list_item() -> None:
    text = "1. Define it:\n\n    ```python\n    def g():\n        return 0\n    ```\n"
    assert extract_code(text) == "def g():\n    return 0"


def test_extract_ignores_other_languages_and_prose() -> None:
    assert extract_code(fenced("console.log(1)", "javascript")) is None
    assert extract_code("Yes") is None
    assert extract_code("The answer is that you loop over the list.") is None
    assert extract_code("") is None


def test_extract_accepts_bare_code_without_fences() -> None:
    assert extract_code("def h(a):\n    return a\n") == "def h(a):\n    return a"


# -- scoring -------------------------------------------------------------------------------------


def test_passing_code() -> None:
    score = score_code(fenced("def add(a, b):\n    return a + b"), "assert add(2, 3) == 5", FAST)
    assert (score.found, score.parses, score.runs, score.passes, score.status) == (True, True, True, True, "passed")


def test_failing_code() -> None:
    score = score_code(fenced("def add(a, b):\n    return a - b"), "assert add(2, 3) == 5", FAST)
    assert (score.runs, score.passes, score.status) == (True, False, "failed")
    assert score.detail.startswith("AssertionError")


def test_crashing_code() -> None:
    score = score_code(fenced("def add(a, b):\n    return a + b\nadd(1)"), "assert add(2, 3) == 5", FAST)
    assert (score.parses, score.runs, score.passes, score.status) == (True, False, False, "error")
    assert "TypeError" in score.detail


def test_syntax_error_and_missing_code_are_not_run() -> None:
    broken = score_code(fenced("def add(a, b)\n    return a + b"), "assert add(2, 3) == 5", FAST)
    assert (broken.found, broken.parses, broken.status, broken.seconds) == (True, False, "syntax_error", 0.0)
    assert broken.detail.startswith("line 1:")
    missing = score_code("I cannot write that function.", "assert add(2, 3) == 5", FAST)
    assert (missing.found, missing.passes, missing.status) == (False, False, "no_code")


def test_code_without_check_only_runs() -> None:
    score = score_code(fenced("x = sum(range(10))"), None, FAST)
    assert (score.runs, score.passes, score.status) == (True, None, "ran")


def test_hanging_code_is_stopped_at_the_time_limit() -> None:
    started = time.monotonic()
    result = run_code("while True:\n    pass", "assert True", SandboxLimits(seconds=0.5))
    assert (result.status, result.ran, result.passed) == ("timeout", False, False)
    assert time.monotonic() - started < 5


def test_sleeping_code_is_stopped_at_the_time_limit() -> None:
    started = time.monotonic()
    result = run_code("import time\ntime.sleep(60)", None, SandboxLimits(seconds=0.5))
    assert result.status == "timeout" and time.monotonic() - started < 5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="macOS does not enforce RLIMIT_AS")
def test_memory_hog_hits_the_memory_limit() -> None:
    hog = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))"
    result = run_code(hog, None, SandboxLimits(seconds=10, memory_mb=256))
    assert result.status == "memory" and not result.ran


def test_flooding_output_hits_the_file_size_limit() -> None:
    result = run_code("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", None,
                      SandboxLimits(seconds=10, file_mb=1))
    assert (result.status, result.detail) == ("error", "wrote more than the 1 MB file size limit")
    assert len(result.stdout) <= 4000


def test_exiting_early_is_not_a_pass() -> None:
    for exit_call in ("import sys\nsys.exit(0)", "import os\nos._exit(0)", "raise SystemExit"):
        result = run_code(exit_call, "assert False", FAST)
        assert (result.status, result.passed) == ("error", False), exit_call


def test_main_block_does_not_run_but_dataclasses_and_typing_work() -> None:
    code = (
        "from __future__ import annotations\nimport dataclasses, typing, collections, enum\n"
        "@dataclasses.dataclass\nclass P:\n    x: int\n"
        "Pair = collections.namedtuple('Pair', 'a b')\nT = typing.TypeVar('T')\n"
        "class Color(enum.Enum):\n    RED = 1\n"
        "if __name__ == '__main__':\n    raise SystemExit('main block ran')\n"
    )
    result = run_code(code, "assert P(1).x == 1 and Pair(1, 2).b == 2", FAST)
    assert result.status == "passed", result.stderr


def test_code_may_write_inside_its_sandbox_which_is_then_deleted() -> None:
    code = (
        "import os, tempfile, pathlib, shutil\n"
        "pathlib.Path('out.txt').write_text('hi')\nos.makedirs('a/b')\nos.rename('out.txt', 'a/b/x.txt')\n"
        "with tempfile.NamedTemporaryFile() as handle:\n    handle.write(b'x')\n"
        "shutil.rmtree('a')\nprint(os.getcwd())\nprint(os.environ['HOME'])\n"
    )
    result = run_code(code, None, FAST)
    assert result.status == "ran", result.stderr
    cwd, home = result.stdout.split()
    assert cwd == home and not Path(cwd).exists()


def test_environment_carries_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQMOE_TEST_SECRET", "hunter2")
    result = run_code("import os\nprint(sorted(os.environ))", None, FAST)
    assert "SEQMOE_TEST_SECRET" not in result.stdout and "hunter2" not in result.stdout


def test_processes_ctypes_and_signals_are_refused() -> None:
    for code in ("import os\nos.system('true')", "import subprocess\nsubprocess.run(['true'])",
                 "import os\nos.fork()", "import ctypes", "import os\nos.kill(1, 0)",
                 "import os\nos.execv('/bin/true', ['true'])"):
        result = run_code(code, None, FAST)
        assert result.status == "blocked" and "sandbox:" in result.detail, (code, result)


# -- network and files, with every layer and with each layer alone -------------------------------


def _layer_settings() -> list:
    available = set(isolation_layers())
    cases = [("all layers", FAST, None)]
    alone = {
        "audit hook alone": (SandboxLimits(seconds=5, landlock=False, network_namespace=False), "audit-hook"),
        "landlock alone": (SandboxLimits(seconds=5, audit_hook=False, network_namespace=False), "landlock-fs"),
    }
    for name, (limits, needed) in alone.items():
        cases.append((name, limits, needed))
    return [pytest.param(limits, needed, id=name, marks=pytest.mark.skipif(
        needed is not None and needed not in available, reason=f"{needed} is not available on this machine"))
        for name, limits, needed in cases]


@pytest.fixture
def listener() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    yield server
    server.close()


def _connection_arrived(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except TimeoutError:
        return False
    connection.close()
    return True


@pytest.mark.parametrize(("limits", "needed"), _layer_settings())
def test_network_is_unreachable(listener: socket.socket, limits: SandboxLimits, needed: str | None) -> None:
    port = listener.getsockname()[1]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
    result = run_code(code, None, limits)
    assert not result.ran and "connected" not in result.stdout, result
    assert not _connection_arrived(listener)


@pytest.mark.skipif("network-namespace" not in isolation_layers(), reason="unshare --net is not available")
def test_network_namespace_alone_keeps_the_network_away(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    limits = SandboxLimits(seconds=5, audit_hook=False, landlock=False)
    result = run_code(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)", None, limits)
    assert not result.ran and "unreachable" in result.detail.lower()
    assert not _connection_arrived(listener)


DESTROYERS = {
    "os.remove": "import os\nos.remove({canary!r})",
    "pathlib unlink": "import pathlib\npathlib.Path({canary!r}).unlink()",
    "shutil.rmtree": "import shutil\nshutil.rmtree({folder!r})",
    "open for writing": "open({canary!r}, 'w').write('overwritten')",
    "os.open truncating": "import os\nos.close(os.open({canary!r}, os.O_WRONLY | os.O_TRUNC))",
    "os.rename": "import os\nos.rename({canary!r}, {canary!r} + '.moved')",
    "os.chmod": "import os\nos.chmod({canary!r}, 0)",
    "relative climb": "import os\nfor up in range(1, 12):\n    try:\n        os.remove('../' * up + {relative!r})\n"
                      "    except OSError:\n        pass\nassert False, 'nothing removed'",
    "reading it": "print(open({canary!r}).read())",
    "through a symlink": "import os, shutil\nos.symlink({folder!r}, 'link')\nshutil.rmtree('link/')",
    "through a dir_fd": "import os\nfd = os.open({folder!r}, os.O_RDONLY)\nos.unlink('canary.txt', dir_fd=fd)",
}


@pytest.mark.parametrize(("limits", "needed"), _layer_settings())
@pytest.mark.parametrize("attack", DESTROYERS)
def test_user_files_survive(tmp_path: Path, attack: str, limits: SandboxLimits, needed: str | None) -> None:
    if attack == "os.chmod" and not limits.audit_hook:
        pytest.skip("Landlock does not cover file metadata (chmod, chown, utime); the audit hook does")
    folder = tmp_path / "precious"
    folder.mkdir()
    canary = folder / "canary.txt"
    canary.write_text("still here")
    mode = canary.stat().st_mode
    relative = str(canary).lstrip("/")
    result = run_code(DESTROYERS[attack].format(canary=str(canary), folder=str(folder), relative=relative), None,
                      limits)
    assert not result.ran, result
    assert canary.read_text() == "still here" and canary.stat().st_mode == mode
    assert "still here" not in result.stdout


def test_audit_hook_looks_nothing_up_at_call_time(tmp_path: Path) -> None:
    """Every name the hook and its helpers use is bound when it is built: patching builtins cannot blind it."""
    hook = sandbox._audit_hook(str(tmp_path), [])
    pending, seen = [hook.__code__], []
    while pending:
        code = pending.pop()
        seen.append(code.co_name)
        globals_used = [i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
        assert not globals_used, (code.co_name, globals_used)
        pending += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    for cell in hook.__closure__ or ():
        if isinstance(cell.cell_contents, types.FunctionType):
            pending.append(cell.cell_contents.__code__)
    while pending:
        code = pending.pop()
        seen.append(code.co_name)
        assert not [i for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")], code.co_name
    assert {"hook", "resolve", "check", "inside", "deny"} <= set(seen)


def test_patching_os_and_builtins_does_not_blind_the_hook(tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("still here")
    code = ("import builtins, os, posixpath\nbuiltins.isinstance = lambda *a: True\n"
            "os.path.realpath = posixpath.realpath = lambda p: '/nowhere'\nos.getcwd = lambda: '/'\n"
            f"os.remove({str(canary)!r})")
    result = run_code(code, None, SandboxLimits(seconds=5, landlock=False, network_namespace=False))
    assert result.status == "blocked" and canary.read_text() == "still here"


def test_layers_always_include_rlimits_and_the_audit_hook() -> None:
    assert {"rlimits", "audit-hook"} <= set(isolation_layers())
