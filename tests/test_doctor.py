"""`seqmoe-local doctor` reports the features of the llama.cpp build this venv really uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seqmoe_local import engine
from seqmoe_local.doctor import (
    BuildReport,
    advise,
    backend_libraries,
    cpu_flags,
    loaded_blas_library,
    parse_system_info,
)


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process: what a user's shell runs."""
    return subprocess.run(
        [sys.executable, "-m", "seqmoe_local.cli", "doctor", *args], capture_output=True, text=True, timeout=120
    )


def installed_backends() -> set[str]:
    """ggml backend libraries next to llama.cpp in this venv, found independently of doctor.py."""
    import llama_cpp

    lib = Path(llama_cpp.__file__).parent / "lib"
    return {p.name.split(".")[0].removeprefix("lib").removeprefix("ggml-") for p in lib.glob("libggml-*")} - {"base"}


def test_doctor_json_matches_this_build() -> None:
    done = doctor("--json")
    assert done.returncode == 0, done.stderr
    report = BuildReport.model_validate_json(done.stdout)
    info = engine.system_info()
    assert report.system_info == info
    # The flags must follow llama.cpp's own words, in this build, whatever the machine.
    assert report.avx2 == ("AVX2 = 1" in info)
    assert report.avx512 == ("AVX512 = 1" in info)
    assert report.gpu_offload == engine.gpu_offload_supported()
    assert set(report.backend_libraries) == installed_backends()
    assert report.blas == ("blas" in installed_backends())
    if report.blas:  # the BLAS library then really is mapped into the doctor's process
        assert report.blas_library and "blas" in Path(report.blas_library).name.lower()
    flags = cpu_flags()
    if flags is not None:
        assert report.cpu_avx2 == ("avx2" in flags) and report.cpu_avx512 == ("avx512f" in flags)


def test_doctor_text_names_each_feature_with_its_state() -> None:
    done = doctor()
    assert done.returncode == 0, done.stderr
    report = BuildReport.model_validate_json(doctor("--json").stdout)
    lines = {line.split(":", 1)[0].strip(): line.split(":", 1)[1] for line in done.stdout.splitlines() if ":" in line}
    for label, flag in (("AVX2", report.avx2), ("AVX-512", report.avx512), ("BLAS", report.blas),
                        ("GPU offload", report.gpu_offload)):  # fmt: skip
        assert lines[label].split()[0] == ("yes" if flag else "no"), done.stdout
    assert engine.system_info() in done.stdout


def test_parse_system_info_splits_backends() -> None:
    text = "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 0 | REPACK = 1 |"
    assert parse_system_info(text) == {
        "CUDA": {"ARCHS": "890", "USE_GRAPHS": "1"},
        "CPU": {"SSE3": "1", "AVX2": "1", "AVX512": "0", "REPACK": "1"},
    }
    assert parse_system_info("") == {}


def test_backend_libraries_from_file_names(tmp_path: Path) -> None:
    for name in ("libggml-base.so", "libggml-base.so.0", "libggml-cpu.so", "libggml-blas.so.0.25.3",
                 "libggml-blas.so", "libggml.so", "libllama.so", "ggml-cuda.dll", "libggml-metal.dylib"):  # fmt: skip
        (tmp_path / name).touch()
    assert backend_libraries(tmp_path) == ["blas", "cpu", "cuda", "metal"]
    assert backend_libraries(tmp_path / "absent") == []


def test_loaded_blas_library_reads_the_maps(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    maps.write_text(
        "7f00-7f01 r-xp 0 08:01 1 /venv/lib/python3.11/site-packages/numpy.libs/libscipy_openblas64_-ff651d7f.so\n"
        "7f02-7f03 r-xp 0 08:01 2 /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0\n"
        "7f04-7f05 rw-p 0 00:00 0 \n"
    )
    assert loaded_blas_library(maps) == "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"
    maps.write_text("7f04-7f05 rw-p 0 00:00 0 [heap]\n")
    assert loaded_blas_library(maps) is None


@pytest.mark.parametrize(
    ("build_avx2", "build_avx512", "cpu_avx2", "cpu_avx512", "expected"),
    [
        (True, False, True, True, "AVX-512"),
        (False, False, True, False, "AVX2"),
        (True, True, True, True, None),
        (True, False, True, False, None),
        (True, False, None, None, None),
    ],
)
def test_advice_names_unused_instructions_and_the_command(
    build_avx2: bool, build_avx512: bool, cpu_avx2: bool | None, cpu_avx512: bool | None, expected: str | None
) -> None:
    report = {"avx2": build_avx2, "avx512": build_avx512, "cpu_avx2": cpu_avx2, "cpu_avx512": cpu_avx512,
              "physical_cores": 2, "logical_cpus": 2}  # fmt: skip
    advice = advise(report)
    if expected is None:
        assert advice == []
    else:
        assert len(advice) == 1 and expected in advice[0] and "pip install --force-reinstall" in advice[0]


def test_advice_on_hyperthreads() -> None:
    report = {"avx2": True, "avx512": False, "cpu_avx2": True, "cpu_avx512": False, "physical_cores": 2,
              "logical_cpus": 4}  # fmt: skip
    assert advise(report) == ["4 logical CPUs on 2 cores: try [engine] n_threads = 2 in models.toml"]

