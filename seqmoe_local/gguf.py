"""A small, defensive GGUF reader.

llama.cpp has had memory-safety bugs on malformed GGUF files, so every file is
checked here (magic, version, bounded metadata, tensor table inside the file)
before it is handed to llama.cpp. The metadata is also what `models` shows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ModelFileError

MAGIC = b"GGUF"
#: how a ModelFileError begins (after the path) when the file is no GGUF at all: an error page, an empty file
NOT_GGUF = "not a GGUF model file"
_MAX_STRING = 1 << 24  # 16 MiB: no honest key or value is longer
_MAX_COUNT = 1 << 24  # array items / tensors / keys
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# Per-architecture keys that must be plain integers (llama.cpp reads them as such); head counts may be
# per-layer arrays in some architectures, so they are not listed.
_INTEGER_KEYS = ("context_length", "block_count", "embedding_length", "attention.key_length",
                 "attention.value_length")

# llama.cpp's `general.file_type` values (enum llama_ftype) for the names users know.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
}


@dataclass(frozen=True)
class GGUFArray:
    """An array value; only its length is kept (tokenizer arrays hold 100k+ items)."""

    item_type: int
    count: int


@dataclass(frozen=True)
class GGUFInfo:
    """What the header of a GGUF file says."""

    path: Path
    version: int
    file_size: int
    tensor_count: int
    metadata: dict[str, Any] = field(repr=False)

    @property
    def architecture(self) -> str:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) and value else "unknown"

    @property
    def quantization(self) -> str:
        ftype = self.metadata.get("general.file_type")
        return FILE_TYPES.get(ftype, f"type {ftype}") if ftype is not None else "unknown"

    @property
    def vocab_size(self) -> int:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        return tokens.count if isinstance(tokens, GGUFArray) else 0

    @property
    def context_length(self) -> int | None:
        return self.integer(f"{self.architecture}.context_length")

    def integer(self, key: str) -> int | None:
        """An integer metadata value; None when absent or of another type (read_gguf rejects the keys it needs)."""
        value = self.metadata.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def has_chat_template(self) -> bool:
        return "tokenizer.chat_template" in self.metadata


class _Reader:
    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle, self.path = handle, path

    def bytes(self, n: int) -> bytes:
        data = self.handle.read(n)
        if len(data) != n:
            raise ModelFileError(f"{self.path}: file ends inside the GGUF header (truncated download?)")
        return data

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.bytes(struct.calcsize(fmt)))[0]

    def string(self, keep: bool = True) -> str | None:
        n = self.scalar("<Q")
        if n > _MAX_STRING:
            raise ModelFileError(f"{self.path}: corrupt GGUF header (string of {n} bytes)")
        if not keep:
            self.handle.seek(n, 1)
            return None
        return self.bytes(n).decode("utf-8", errors="replace")

    def value(self, vtype: int, keep: bool) -> Any:
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string(keep)
        if vtype == _ARRAY:
            itype, count = self.scalar("<I"), self.scalar("<Q")
            if count > _MAX_COUNT:
                raise ModelFileError(f"{self.path}: corrupt GGUF header (array of {count} items)")
            if itype == _ARRAY:  # llama.cpp refuses them too; unbounded nesting would recurse without end
                raise ModelFileError(f"{self.path}: corrupt GGUF header (an array of arrays)")
            if itype in _SCALARS:  # skip fixed-size arrays in one seek
                self.handle.seek(count * struct.calcsize(_SCALARS[itype]), 1)
            else:
                for _ in range(count):
                    self.value(itype, keep=False)
            return GGUFArray(itype, count)
        raise ModelFileError(f"{self.path}: corrupt GGUF header (unknown value type {vtype})")


def _check_integers(path: Path, metadata: dict[str, Any]) -> None:
    """Reject a header whose size-defining keys are not integers: llama.cpp would, and our estimates use them."""
    arch = metadata.get("general.architecture", "")
    keys = ["general.alignment"]
    if isinstance(arch, str) and arch:
        keys += [f"{arch}.{name}" for name in _INTEGER_KEYS]
    for key in keys:
        value = metadata.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            kind = "an array" if isinstance(value, GGUFArray) else f"a {type(value).__name__}"
            raise ModelFileError(f"{path}: corrupt GGUF header ({key} is {kind}, expected an integer)")


def read_gguf(path: Path, expected_size: int | None = None) -> GGUFInfo:
    """Check that `path` is a whole GGUF file and return its header.

    Raises ModelFileError for a missing magic, an unsupported version, a header
    that runs past the end of the file, a tensor table pointing outside the file,
    or a size that differs from `expected_size`.
    """
    path = Path(path)
    try:
        file_size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        reader = _Reader(handle, path)
        if file_size < 24:
            raise ModelFileError(f"{path}: {NOT_GGUF} ({f'only {file_size} bytes' if file_size else 'empty'})")
        magic = handle.read(4)
        if magic != MAGIC:
            raise ModelFileError(f"{path}: {NOT_GGUF} (it starts with {magic!r}, not {MAGIC!r})")
        version = reader.scalar("<I")
        if version not in (2, 3):
            raise ModelFileError(f"{path}: GGUF version {version} is not supported (expected 2 or 3)")
        tensor_count, kv_count = reader.scalar("<Q"), reader.scalar("<Q")
        if tensor_count > _MAX_COUNT or kv_count > _MAX_COUNT:
            raise ModelFileError(f"{path}: corrupt GGUF header ({tensor_count} tensors, {kv_count} keys)")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string()
            metadata[key] = reader.value(reader.scalar("<I"), keep=True)  # type: ignore[index]
        last_offset = 0
        for _ in range(tensor_count):
            reader.string(keep=False)
            n_dims = reader.scalar("<I")
            if n_dims > 8:
                raise ModelFileError(f"{path}: corrupt GGUF tensor table ({n_dims} dimensions)")
            handle.seek(8 * n_dims + 4, 1)
            last_offset = max(last_offset, reader.scalar("<Q"))
        _check_integers(path, metadata)
        alignment = metadata.get("general.alignment", 32)
        if alignment <= 0 or alignment & (alignment - 1):
            raise ModelFileError(f"{path}: corrupt GGUF header (general.alignment {alignment} is not a power of two)")
        data_start = -(-handle.tell() // alignment) * alignment
    if data_start + last_offset >= file_size and tensor_count:
        raise ModelFileError(
            f"{path}: truncated GGUF ({file_size:,} bytes, but tensor data starts past {data_start + last_offset:,})"
        )
    if expected_size is not None and file_size != expected_size:
        raise ModelFileError(f"{path}: {file_size:,} bytes, expected {expected_size:,} (incomplete or wrong file)")
    return GGUFInfo(path, version, file_size, tensor_count, metadata)
