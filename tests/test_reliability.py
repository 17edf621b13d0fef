"""Hostile inputs and faults (issue 12): each gets a documented exit code and one line naming the next step.

One regression test per cause, named after what it used to break, through the real entry point: in
process (`cli.main`) or, where the interpreter's own start-up or shutdown is part of the case (argv
decoding, a closed or full stdout, a fatal signal), as a subprocess. Then seeded random inputs for the
question reader, `route` and the config loader: never a traceback.

Causes 6 (generation past the context window) and 7 (`eval --out`) are tested with their own modules.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hubserver import FakeHub
from test_pull import hub, isolated, tiny_gguf, toml_value  # noqa: F401  # fixtures: the hub, no user setup

from seqmoe_local import cli, paths
from seqmoe_local.config import load_config
from seqmoe_local.errors import ConfigError
from seqmoe_local.pull import PullEvent

SMOL = "smollm2-135m"
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
QUESTION = "What is 2+2?"


# --- helpers -------------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`seqmoe-local ARGV` in this process: (status, stdout, stderr)."""
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def spawn(*argv: str | bytes, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """`seqmoe-local ARGV` as a new process (this tree's code, this test's environment)."""
    command: list[str | bytes] = [sys.executable, "-m", "seqmoe_local.cli", *argv]
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(command, env=_child_env(), timeout=120, **kwargs)


def _child_env() -> dict[str, str]:
    env = os.environ.copy()
    root = str(Path(cli.__file__).resolve().parent.parent)  # the tree under test, also without an install
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env.pop("PYTHONFAULTHANDLER", None)
    return env


def error_line(err: str) -> str:
    """The message of a failed command: exactly one line, starting with "error:", and no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def smol_copy(
    models_dir: Path, directory: Path, monkeypatch: pytest.MonkeyPatch, *, verified: bool = False
) -> Path:
    """A private copy of the 98 MB SmolLM2 demo GGUF, with models pointed at it (never the shared files).

    `verified`: with its `.verified` sidecar, which still vouches for it (the copy keeps the mtime).
    """
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / SMOL_FILE
    shutil.copy2(models_dir / SMOL_FILE, copy)
    if verified:
        shutil.copy2(models_dir / (SMOL_FILE + ".verified"), directory)
    monkeypatch.setenv(paths.ENV_MODELS_DIR, str(directory))
    return copy


def gguf_header(*pairs: tuple[str, int, bytes]) -> bytes:
    """A GGUF v3 with no tensors and the given (key, value type, encoded value) metadata, padded to 64 bytes."""
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs))
    for key, vtype, value in pairs:
        data += struct.pack("<Q", len(key)) + key.encode() + struct.pack("<I", vtype) + value
    return data + b"\0" * 64


def gguf_string(text: str) -> bytes:
    return struct.pack("<Q", len(text)) + text.encode()


def custom_expert(tmp_path: Path, filename: str) -> Path:
    """A --config file adding expert "x" (a hub source, no size or hash) in profile "t", models in tmp_path."""
    path = tmp_path / "custom.toml"
    path.write_text(
        f"models_dir = {toml_value(str(tmp_path / 'models'))}\n"
        '[profiles.t]\ndescription = "test"\nexperts = ["x"]\n'
        f'[experts.x]\ndescription = "x"\nroles = ["explain"]\nchat = true\nfilename = "{filename}"\n'
        'sources = [{ kind = "hub", repo = "org/x", filename = "x.gguf" }]\n'
    )
    return path


# --- 1: a models.toml that is not UTF-8 ----------------------------------------------------------


def test_config_file_that_is_not_utf8_is_a_config_error_and_paths_still_shows_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[router]\ntau = 0.3\n")

    code, _, err = run(capsys, "route", "--config", str(bad), QUESTION)
    assert code == 3
    assert error_line(err) == (
        f"error: {bad}: not UTF-8 text (byte 0xff on line 1); TOML files must be UTF-8: "
        "save it as UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)"
    )

    user = paths.user_config_file()
    user.parent.mkdir(parents=True)
    user.write_bytes(b'default_profile = "d\xe9mo"\n')
    code, _, err = run(capsys, "models")
    assert code == 3 and error_line(err).startswith(f"error: {user}: not UTF-8 text (byte 0xe9 on line 1)")

    code, out, err = run(capsys, "paths")
    assert code == 0 and f"config file (optional): {user}\n" in out and "logs:" in out
    assert f"warning: the configuration cannot be used: {user}: not UTF-8 text" in err


@pytest.mark.parametrize("kind", ["directory", "dangling symlink"])
def test_a_user_config_that_is_not_a_file_is_reported_not_ignored(
    capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    user = paths.user_config_file()
    user.parent.mkdir(parents=True)
    if kind == "directory":
        user.mkdir()
        expected = f"error: your config file {user} is a directory, not a file; remove it or put a models.toml there"
    else:
        user.symlink_to(user.parent / "gone.toml")
        expected = (
            f"error: your config file {user} is a symbolic link to {user.parent / 'gone.toml'}, which does not "
            "exist; fix or remove the link"
        )
    code, _, err = run(capsys, "models")
    assert code == 3 and error_line(err) == expected
    assert run(capsys, "paths")[0] == 0


# --- 2: a GGUF whose general.alignment is not an integer ------------------------------------------


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ((8, gguf_string("abc")), "a str"),
        ((9, struct.pack("<IQ", 4, 2) + struct.pack("<II", 32, 32)), "an array"),
        ((4, struct.pack("<I", 48)), None),  # an integer, but not a power of two
    ],
)
def test_gguf_with_a_malformed_alignment_is_diagnosed_by_models_ask_and_pull(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    value: tuple[int, bytes],
    what: str | None,
) -> None:
    config = custom_expert(tmp_path, "x.gguf")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "x.gguf").write_bytes(
        gguf_header(("general.architecture", 8, gguf_string("llama")), ("general.alignment", *value))
    )
    problem = (
        f"corrupt GGUF header (general.alignment is {what}, expected an integer)"
        if what
        else "corrupt GGUF header (general.alignment 48 is not a power of two)"
    )

    code, out, err = run(capsys, "models", "--config", str(config), "--profile", "t")
    assert code == 0 and problem in out and "fetch with: seqmoe-local pull x --profile t --force" in out, err

    code, _, err = run(capsys, "ask", "--config", str(config), "--profile", "t", "--expert", "x", QUESTION)
    assert code == 4
    assert error_line(err).endswith(f"{problem}; fetch it again with: seqmoe-local pull x --profile t --force")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = run(capsys, "pull", "--config", str(config), "--profile", "t")
    assert code == 6 and f"x.gguf on disk is unusable ({problem}) and no fresh copy could be fetched: offline" in out
    assert "Traceback" not in err


# --- 3: weights overwritten, size unchanged, sidecar gone -----------------------------------------


def test_corrupted_weights_without_a_sidecar_are_caught_by_models_pull_and_ask(
    capsys: pytest.CaptureFixture[str], models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = smol_copy(models_dir, tmp_path / "m", monkeypatch)
    with copy.open("r+b") as handle:  # 4 MB of the weights, the size unchanged; no .verified sidecar
        handle.seek(50_000_000)
        handle.write(b"\0" * 4_000_000)
    fix = f"seqmoe-local pull {SMOL} --profile demo --force"
    corrupted = "corrupted: its sha256 differs from models.toml's"

    code, out, _ = run(capsys, "models")
    assert code == 0 and f"{SMOL}     {corrupted}" in out and f"fetch with: {fix}" in out

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, _ = run(capsys, "pull", SMOL)
    assert code == 6
    assert f"{SMOL}: FAILED: {SMOL_FILE} on disk is unusable ({corrupted}) and no fresh copy could be fetched: " \
           "offline (HF_HUB_OFFLINE=1)" in out

    code, out, err = run(capsys, "ask", "--expert", SMOL, "--max-tokens", "4", QUESTION)
    assert code == 4 and f"[loaded {SMOL}" not in err  # refused before llama.cpp saw the file
    assert error_line(err) == f"error: {copy}: {corrupted}; fetch it again with: {fix}"
    assert not copy.with_name(copy.name + ".verified").exists()


def test_an_intact_file_without_a_sidecar_is_hashed_once_then_trusted(
    capsys: pytest.CaptureFixture[str], models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = smol_copy(models_dir, tmp_path / "m", monkeypatch)
    sidecar = copy.with_name(copy.name + ".verified")

    code, out, _ = run(capsys, "models")

    assert code == 0 and f"{SMOL}     present" in out
    assert json.loads(sidecar.read_text())["mtime_ns"] == copy.stat().st_mtime_ns
    os.utime(copy, ns=(1, 1))  # "older than the file": the sidecar no longer vouches, the hash runs again
    assert f"{SMOL}     present" in run(capsys, "models")[1]
    assert json.loads(sidecar.read_text())["mtime_ns"] == 1


# --- 4: a question that is not UTF-8 --------------------------------------------------------------


def test_question_bytes_that_are_not_utf8_are_a_usage_error() -> None:
    piped = spawn("ask", "--expert", SMOL, "-", input=b"\xff\xfe What is 2+2?")
    assert piped.returncode == 2
    assert error_line(piped.stderr.decode()) == (
        "error: standard input is not UTF-8 text (byte 0xff at offset 0); convert it first, "
        "e.g. iconv -f LATIN1 -t UTF-8 < FILE | seqmoe-local ask -"
    )

    argument = spawn("route", "--expert", SMOL, b"caf\xe9 au lait?")
    assert argument.returncode == 2
    assert error_line(argument.stderr.decode()).startswith(
        "error: the question is not UTF-8 text (byte 0xe9 at character 4); convert it"
    )


def test_a_byte_order_mark_on_stdin_is_dropped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, models_dir: Path
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\ufeffExplain recursion.".encode())))
    code, out, err = run(capsys, "route", "--json", "--expert", SMOL, "-")
    assert code == 0, err
    assert json.loads(out)["question"] == "Explain recursion."


# --- 5: stdout that is a closed pipe, closed, or on a full disk ------------------------------------


def test_stdout_closed_by_the_reader_exits_quietly(models_dir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "seqmoe_local.cli", "route", "--expert", SMOL, QUESTION],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head -c 0`: the reader is gone before anything is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == cli.EXIT_PIPE_CLOSED
    assert err == ""


def test_stdout_closed_or_full_is_one_line(models_dir: Path) -> None:
    closed = subprocess.run(
        ["bash", "-c", 'exec "$@" >&-', "-", sys.executable, "-m", "seqmoe_local.cli", "route", "--expert", SMOL, "hi"],
        stderr=subprocess.PIPE,
        env=_child_env(),
        timeout=120,
    )
    assert closed.returncode == 7
    assert error_line(closed.stderr.decode()).startswith("error: standard output is closed")

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "wb") as full:
        result = spawn("route", "--expert", SMOL, QUESTION, stdout=full)
    assert result.returncode == 7
    assert error_line(result.stderr.decode()) == (
        "error: cannot write to standard output: No space left on device; free some disk space or send the "
        "output somewhere else"
    )


# --- 8: a malformed HF_ENDPOINT -------------------------------------------------------------------


def test_malformed_hf_endpoint_is_reported_by_pull(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_endpoint = "http://[::1"
    monkeypatch.setenv("HF_ENDPOINT", env_endpoint)  # a new process: huggingface_hub's import reads it too

    result = spawn("pull", "--profile", "default", "qwen-instruct")

    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 6 and "Traceback" not in err
    assert f"qwen-instruct: FAILED: HF_ENDPOINT='{env_endpoint}' is not a valid http(s) URL; unset it" in out
    assert not list((tmp_path / "models").glob("*.incomplete*"))


# --- 9: --disable and --profile mistakes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--disable", "nobody"], "error: cannot disable nobody: not in profile 'demo' (experts: "),
        (
            ["--disable", "smollm2-135m", "--disable", "qwen-coder", "--disable", "gemma3-270m"],
            "error: --disable leaves no expert: profile 'demo' has only ",
        ),
        (["--profile", "nobody"], "error: unknown profile 'nobody' (--profile); known profiles: demo, default"),
        (["--expert", "nobody"], "error: cannot use --expert nobody: profile 'demo' has: "),
    ],
)
def test_command_line_mistakes_exit_2_not_3(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, "route", *argv, QUESTION)
    assert code == 2 and error_line(err).startswith(message)


# --- 10: an unusable model file, then ask ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["empty", "truncated", "bad magic", "html", "directory"])
def test_unusable_model_file_tells_ask_the_pull_command(
    capsys: pytest.CaptureFixture[str], models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    directory = tmp_path / "m"
    directory.mkdir()
    monkeypatch.setenv(paths.ENV_MODELS_DIR, str(directory))
    path = directory / SMOL_FILE
    if kind == "directory":
        path.mkdir()
    elif kind == "bad magic":  # the right size, so only the header can tell
        shutil.copyfile(models_dir / SMOL_FILE, path)
        with path.open("r+b") as handle:
            handle.write(b"GGUX")
    else:
        with (models_dir / SMOL_FILE).open("rb") as handle:
            head = handle.read(10_000_000)
        path.write_bytes({"empty": b"", "truncated": head, "html": b"<html><body>502 Bad Gateway</body></html>"}[kind])
    expected = {
        "empty": "not a GGUF model file (empty)",
        "truncated": "truncated: 10.0 MB on disk, 98.4 MB expected",
        "bad magic": "not a GGUF model file (it starts with b'GGUX', not b'GGUF')",
        "html": "not a GGUF model file (it starts with b'<htm', not b'GGUF')",
        "directory": "a directory, not a model file",
    }[kind]

    code, out, err = run(capsys, "ask", "--expert", SMOL, "--max-tokens", "4", QUESTION)

    assert code == 4 and out == ""  # no segment header before the error: the pinned file is checked first
    line = error_line(err)
    assert line.startswith(f"error: {path}: {expected}; ")
    if kind == "directory":
        assert line.endswith(f"remove it, then fetch the model with: seqmoe-local pull {SMOL} --profile demo")
        assert f"{SMOL}     a directory, not a model file" in run(capsys, "models")[1]
    else:
        assert line.endswith(f"fetch it again with: seqmoe-local pull {SMOL} --profile demo --force")


# --- 11: the model file truncated in place while ask generates -------------------------------------


def test_model_truncated_during_generation_is_logged_and_diagnosed_by_the_next_run(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stack of a fatal SIGBUS goes to the run's log; the next run names the cause.

    One compute thread: with several, every ggml thread faults on the vanished pages at once,
    and faulthandler (which uninstalls itself on the first signal, as it must) lets the second
    one kill the process before the stack is written. The log is kept either way.
    """
    copy = smol_copy(models_dir, tmp_path / "m", monkeypatch, verified=True)  # no hashing: a quick start
    one_thread = tmp_path / "one-thread.toml"
    one_thread.write_text("[engine]\nn_threads = 1\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "seqmoe_local.cli", "ask", "--config", str(one_thread), "--expert", SMOL,
         "--max-tokens", "256", "Write a long story about a cat who travels around the world."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
    )
    assert process.stderr is not None
    seen = b""
    while b"[loaded " not in seen:  # llama.cpp has mapped the file; generation comes next
        chunk = process.stderr.read1(256)
        assert chunk, f"ask ended before loading the model: {seen.decode()}"
        seen += chunk
    process.send_signal(signal.SIGSTOP)  # hold it there, so the truncation lands before the next decode
    os.truncate(copy, 10_000_000)
    process.send_signal(signal.SIGCONT)
    _, err = process.communicate(timeout=120)

    assert process.returncode == -signal.SIGBUS, (seen + err).decode()  # the OS cannot return bytes that are gone
    [log] = list(cli.log_dir().glob("seqmoe-local-*.log"))
    assert "Fatal Python error: Bus error" in log.read_text()  # the stack went to the run's log

    rerun = spawn("ask", "--expert", SMOL, "--max-tokens", "4", QUESTION)
    assert rerun.returncode == 4
    assert error_line(rerun.stderr.decode()) == (
        f"error: {copy}: truncated: 10.0 MB on disk, 98.4 MB expected; "
        f"fetch it again with: seqmoe-local pull {SMOL} --profile demo --force"
    )


# --- 12: the hub answers 500 on GET ---------------------------------------------------------------


def test_hub_error_on_get_leaves_no_empty_partial_download(
    capsys: pytest.CaptureFixture[str],
    hub: FakeHub,  # noqa: F811  # the fixture imported above
    tmp_path: Path,
) -> None:
    source = tmp_path / "x-source.gguf"
    source.write_bytes(tiny_gguf(2_000_000))
    hub.add("org/x", "x.gguf", source)
    hub.get_status = 500
    config = custom_expert(tmp_path, "x.gguf")

    code, out, err = run(capsys, "pull", "--config", str(config), "--profile", "t")

    assert code == 6 and f"x: FAILED: {hub.endpoint} answered HTTP 500 for org/x/x.gguf; try again later" in out
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["x.gguf.lock"]
    code, out, _ = run(capsys, "models", "--config", str(config), "--profile", "t")
    assert code == 0 and "  x                missing" in out and "partial download" not in out


# --- the boundary: anything unexpected ------------------------------------------------------------


def test_an_unexpected_error_is_one_line_naming_its_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> int:
        try:
            {}["key"]
        except KeyError as exc:
            raise RuntimeError("the routing table went missing") from exc
        return 0

    monkeypatch.setitem(cli.COMMANDS, "paths", broken)

    code, _, err = run(capsys, "paths")

    assert code == cli.EXIT_INTERNAL
    line = error_line(err)
    [log] = list(cli.log_dir().glob("seqmoe-local-*.log"))
    assert line == (
        f"error: unexpected RuntimeError: the routing table went missing (the traceback is in {log}; "
        "run again with --debug to see it here; please report it with that file)"
    )
    text = log.read_text()
    assert "KeyError: 'key'" in text and "The above exception was the direct cause" in text
    assert "command: seqmoe-local paths" in text

    for argv in (["--debug", "paths"], ["paths", "--debug"]):
        code, _, err = run(capsys, *argv)
        assert code == cli.EXIT_INTERNAL and "Traceback (most recent call last)" in err
        assert err.rstrip().splitlines()[-1].startswith("error: unexpected RuntimeError")


def test_a_normal_run_leaves_no_log(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "paths")[0] == 0
    assert not list(cli.log_dir().glob("*.log"))


def test_first_progress_line_shows_no_rate_yet() -> None:
    stream = io.StringIO()
    progress = cli._Progress(stream)

    progress.update(PullEvent(SMOL, "progress", "hub", 1 << 20, 98_362_432))

    line = stream.getvalue()
    assert line == f"{SMOL} [hub]   1.1%      1.0/98.4 MB      - MB/s\n"


# --- random inputs --------------------------------------------------------------------------------


def random_text(rng: random.Random, *, surrogates: bool = False) -> str:
    """Up to 200 code points from everywhere: controls, NUL, combining marks, RTL, emoji, private use,
    noncharacters, mixed with words that make segments; lone surrogates too when `surrogates`."""
    pools = [(0, 0x20), (0x20, 0x7F), (0x20, 0x7F), (0x80, 0x800), (0x300, 0x370), (0x590, 0x700),
             (0xE000, 0xF900), (0xFFF0, 0x10000), (0x1F300, 0x1FAFF), (0x10000, 0x110000)]
    words = ["Solve", "explain", "then write a Python function", "```", "\n\n", "?", "2+2", "Why"]
    chars = []
    for _ in range(rng.randint(0, 200)):
        if rng.random() < 0.05:
            chars.append(f" {rng.choice(words)} ")
            continue
        low, high = rng.choice(pools)
        chars.append(chr(rng.randrange(low, high)))
    if surrogates:
        chars.insert(rng.randint(0, len(chars)), chr(rng.randrange(0xD800, 0xE000)))
    return "".join(chars)


def random_question(rng: random.Random, case: int) -> tuple[list[str], bytes | None]:
    """(the question argument, standard input) for one case: four kinds of input in turn."""
    kind = case % 4
    if kind == 0:  # any Unicode text as the argument
        return [random_text(rng)], None
    if kind == 1:  # any bytes on standard input: mostly not UTF-8
        return ["-"], rng.randbytes(rng.randint(0, 200))
    if kind == 2:  # UTF-8 text on standard input, sometimes after a byte-order mark
        return ["-"], (b"\xef\xbb\xbf" if rng.random() < 0.3 else b"") + random_text(rng).encode()
    return [random_text(rng, surrogates=True)], None  # undecodable argv bytes arrive as lone surrogates


@pytest.mark.slow
def test_random_questions_never_raise(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, models_dir: Path
) -> None:
    monkeypatch.setenv(paths.ENV_MODELS_DIR, str(models_dir))
    rng = random.Random(12)
    only_smol = ["--disable", "qwen-coder", "--disable", "gemma3-270m"]  # one small model keeps it quick
    outcomes: dict[int, int] = {}
    for case in range(32):
        question, stdin = random_question(rng, case)
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code, out, err = run(capsys, "route", "--json", *only_smol, *question)
        assert code in (0, 2), (question, stdin, err)
        if code:
            error_line(err)
        else:
            assert json.loads(out)["assignments"] is not None
        outcomes[code] = outcomes.get(code, 0) + 1
    assert outcomes.get(0, 0) >= 8 and outcomes.get(2, 0) >= 8, outcomes  # both kinds of input were produced


def random_toml_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["int", "float", "bool", "str", "list", "table"] if depth < 3 else ["int", "str"]
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, -1, 1, 7, 2**31, 2**64, -(2**70), rng.randint(-1000, 1000)])
    if kind == "float":
        return rng.choice([0.0, -0.5, 1e300, float("inf"), float("nan"), rng.random()])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "str":
        return rng.choice(["", "auto", "demo", "{task}", "{nope}", "x.gguf", "[", "a" * 70, random_text(rng)])
    if kind == "list":
        return [random_toml_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["kind", "repo", "x", "tau", "experts"]): random_toml_value(rng, depth + 1)}


def mutate(rng: random.Random, data: Any, depth: int = 0) -> Any:
    """`data` with one value somewhere replaced, removed or joined by an unknown key."""
    if not isinstance(data, dict) or not data or depth > 4:
        return random_toml_value(rng)
    key = rng.choice(sorted(data))
    changed = dict(data)
    action = rng.random()
    if action < 0.15:
        del changed[key]
    elif action < 0.25:
        changed[rng.choice(["extra", "kind", key + "_"])] = random_toml_value(rng)
    else:
        changed[key] = mutate(rng, data[key], depth + 1) if rng.random() < 0.7 else random_toml_value(rng)
    return changed


def toml_document(data: dict[str, Any]) -> str:
    """Every top-level key as one line; NaN, infinities and lone surrogates become TOML's own spellings or errors."""

    def value(v: Any) -> str:
        if isinstance(v, float) and v != v:
            return "nan"
        if isinstance(v, float) and v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        if isinstance(v, (bool, int, float)):
            return toml_value(v) if not isinstance(v, float) else repr(v)
        if isinstance(v, str):
            return json.dumps(v)  # a lone surrogate comes out as \udcxx, which TOML refuses: also a case
        if isinstance(v, list):
            return "[" + ", ".join(value(item) for item in v) + "]"
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {value(item)}" for k, item in v.items()) + " }"

    return "".join(f"{json.dumps(str(k))} = {value(v)}\n" for k, v in data.items())


def test_random_config_files_give_a_config_or_a_config_error(tmp_path: Path) -> None:
    from seqmoe_local.config import shipped_config_file

    shipped = load_config(use_user_file=False).model_dump(mode="json", exclude_none=True)
    for spec in shipped["experts"].values():
        del spec["name"]  # filled in from the table key, not a key of the file
    assert shipped_config_file().is_file()
    rng = random.Random(7)
    path = tmp_path / "random.toml"
    kinds = {"valid": 0, "error": 0}
    for case in range(400):
        if case % 4 == 0:
            path.write_bytes(rng.randbytes(rng.randint(0, 300)))
        elif case % 4 == 1:
            path.write_text(random_text(rng))
        else:
            document = mutate(rng, shipped)
            path.write_text(toml_document(document if isinstance(document, dict) else {"x": document}))
        try:
            load_config(path, use_user_file=False)
            kinds["valid"] += 1
        except ConfigError as exc:
            assert str(exc).strip(), case
            kinds["error"] += 1
    assert kinds["valid"] and kinds["error"]  # both outcomes were exercised
