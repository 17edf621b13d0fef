"""`seqmoe-local doctor`: which llama.cpp build this install uses and what it supports.

Prompt processing (scoring a question, reading a prompt) is compute-bound, so how
llama.cpp was compiled decides much of the wait: the SIMD level its CPU kernels use
(AVX2, AVX-512), whether matrix products of 32+ tokens can go to a BLAS library,
and whether layers can be offloaded to a GPU. llama-cpp-python compiles llama.cpp
on install, so two machines with the same package version can differ.

Sources, all read from the running process:
- ``engine.system_info()`` (llama.cpp's ``llama_print_system_info``): the features
  each backend reports, e.g. ``CPU : AVX2 = 1 | ... | REPACK = 1 |``.
- The ggml backend libraries installed beside llama.cpp (``libggml-blas``,
  ``libggml-cuda``, ...): the BLAS backend reports no features, so its library is
  the only sign of it; ``/proc/self/maps`` then names the BLAS library actually loaded.
- ``engine.gpu_offload_supported()``.
- The CPU's own flags (``/proc/cpuinfo`` on Linux), to say when the build leaves
  instructions unused (e.g. a wheel built elsewhere without AVX-512).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from importlib import metadata
from pathlib import Path

from .config import StrictModel
from .errors import EngineError

REINSTALL = ".venv/bin/pip install --force-reinstall --no-cache-dir llama-cpp-python"
_BACKEND_LIB = re.compile(r"^(?:lib)?ggml-([a-z0-9-]+)\.(?:so|dylib|dll)$")
_NOT_BACKENDS = {"base"}  # libggml-base is ggml itself


class BuildReport(StrictModel):
    """What `doctor` found; `--json` prints this record."""

    llama_cpp_python: str
    system_info: str
    features: dict[str, dict[str, str]]  # backend -> feature -> value, parsed from system_info
    backend_libraries: list[str]  # ggml backends compiled in (cpu, blas, cuda, metal, ...)
    avx2: bool
    avx512: bool
    blas: bool
    blas_library: str | None  # the BLAS shared library loaded in this process, where it can be seen
    gpu_offload: bool
    cpu_avx2: bool | None  # what this machine's CPU offers; None where it cannot be read
    cpu_avx512: bool | None
    physical_cores: int
    logical_cpus: int
    advice: list[str]


def parse_system_info(text: str) -> dict[str, dict[str, str]]:
    """``"CPU : AVX2 = 1 | FMA = 1 | CUDA : ARCHS = 890 |"`` -> {"CPU": {"AVX2": "1", ...}, "CUDA": {...}}."""
    features: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for item in text.split("|"):
        item = item.strip()
        if not item:
            continue
        if " : " in item:  # a backend's name starts its list: "CPU : SSE3 = 1"
            name, _, item = item.partition(" : ")
            current = features.setdefault(name.strip(), {})
        key, sep, value = item.partition("=")
        if current is not None and sep:
            current[key.strip()] = value.strip()
    return features


def _enabled(features: dict[str, dict[str, str]], flag: str) -> bool:
    return any(values.get(flag) not in (None, "0") for values in features.values())


def llama_lib_dir() -> Path | None:
    """Where llama-cpp-python keeps llama.cpp's shared libraries (found without importing it)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def backend_libraries(lib_dir: Path | None) -> list[str]:
    """Names of the ggml backends built into this install: ["blas", "cpu"] from libggml-blas.so, ..."""
    if lib_dir is None or not lib_dir.is_dir():
        return []
    names = {m.group(1) for p in lib_dir.iterdir() if (m := _BACKEND_LIB.match(p.name))}
    return sorted(names - _NOT_BACKENDS)


def loaded_blas_library(maps: Path = Path("/proc/self/maps")) -> str | None:
    """The BLAS library mapped into this process (Linux), e.g. ``.../openblas-pthread/libopenblas.so.0``."""
    try:
        text = maps.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        path = line.split()[-1] if line.split() else ""
        name = Path(path).name.lower()
        if path.startswith("/") and re.match(r"lib(open)?blas|libmkl_rt|libblis|libflexiblas", name):
            return path
    return None


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The first CPU's feature flags (Linux x86), or None where they cannot be read."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def cpu_topology(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[int, int]:
    """(physical cores, logical CPUs); physical = logical where /proc/cpuinfo says nothing."""
    logical = os.cpu_count() or 1
    try:
        text = cpuinfo.read_text()
    except OSError:
        return logical, logical
    cores: set[tuple[str | None, str]] = set()
    physical_id = core_id = None
    for line in text.splitlines() + [""]:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical_id = value.strip()
        elif key == "core id":
            core_id = value.strip()
        elif not line.strip():
            if core_id is not None:
                cores.add((physical_id, core_id))
            physical_id = core_id = None
    return (len(cores) or logical), logical


def advise(report: dict) -> list[str]:
    """Hints that follow from the build and the machine (each names the command to run)."""
    advice = []
    if report["cpu_avx512"] and not report["avx512"]:
        advice.append(f"this CPU has AVX-512 but the build does not use it; rebuild natively: {REINSTALL}")
    elif report["cpu_avx2"] and not report["avx2"]:
        advice.append(f"this CPU has AVX2 but the build does not use it; rebuild natively: {REINSTALL}")
    if report["physical_cores"] < report["logical_cpus"]:
        advice.append(
            f"{report['logical_cpus']} logical CPUs on {report['physical_cores']} cores: "
            f"try [engine] n_threads = {report['physical_cores']} in models.toml"
        )
    return advice


def build_report() -> BuildReport:
    """Inspect the llama.cpp build this process loads (loads llama.cpp, no model)."""
    try:
        from . import engine  # loads llama.cpp's libraries: the step that fails on a broken install
    except (ImportError, OSError) as exc:
        raise EngineError(f"llama-cpp-python cannot be loaded ({exc}); reinstall it with: {REINSTALL}") from exc
    info = engine.system_info()
    features = parse_system_info(info)
    libraries = backend_libraries(llama_lib_dir())
    flags = cpu_flags()
    physical, logical = cpu_topology()
    blas = "blas" in libraries or "BLAS" in features
    report = {
        "llama_cpp_python": metadata.version("llama_cpp_python"),
        "system_info": info,
        "features": features,
        "backend_libraries": libraries,
        "avx2": _enabled(features, "AVX2"),
        "avx512": _enabled(features, "AVX512"),
        "blas": blas,
        "blas_library": loaded_blas_library() if blas and sys.platform.startswith("linux") else None,
        "gpu_offload": engine.gpu_offload_supported(),
        "cpu_avx2": None if flags is None else "avx2" in flags,
        "cpu_avx512": None if flags is None else "avx512f" in flags,
        "physical_cores": physical,
        "logical_cpus": logical,
    }
    return BuildReport.model_validate({**report, "advice": advise(report)})  # validated as BuildReport(**...) would


def render(report: BuildReport) -> str:
    """The human-readable report."""

    def yes(flag: bool | None) -> str:
        return "unknown" if flag is None else "yes" if flag else "no"

    cpu = report.features.get("CPU", {})
    others = [f"{k}={v}" for k, v in cpu.items() if k not in ("AVX2", "AVX512") and v not in ("0",)]
    lines = [
        f"llama-cpp-python {report.llama_cpp_python}",
        f"  AVX2:        {yes(report.avx2):<4} (this CPU: {yes(report.cpu_avx2)})",
        f"  AVX-512:     {yes(report.avx512):<4} (this CPU: {yes(report.cpu_avx512)})",
        f"  BLAS:        {yes(report.blas)}" + (f" ({report.blas_library})" if report.blas_library else ""),
        f"  GPU offload: {yes(report.gpu_offload)}",
        f"  backends:    {', '.join(report.backend_libraries) or 'unknown'}",
        f"  other CPU features: {' '.join(others) or '-'}",
        f"  cores:       {report.physical_cores} physical, {report.logical_cpus} logical",
        f"  llama.cpp:   {report.system_info}",
    ]
    lines += [f"hint: {line}" for line in report.advice]
    return "\n".join(lines)
