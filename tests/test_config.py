"""models.toml validation and layering."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqmoe_local import paths
from seqmoe_local.config import load_config, shipped_config_file
from seqmoe_local.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_shipped_file_is_valid_and_complete() -> None:
    config = load_config(use_user_file=False)
    assert config.default_profile == "demo"
    for name in config.profiles:
        profile = config.profile(name)
        assert set(profile.natives) == set(config.roles), f"profile {name} lacks a native for some role"
    for expert in config.experts.values():
        assert expert.sha256 and expert.size, f"{expert.name} is not pinned"
    assert config.router.tau == 0.5 and config.router.min_relative_gain == 0.20


def test_unknown_key_names_file_expert_and_field(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", '[experts.gemma3-270m]\ncontext_lenght = 2048\n')
    with pytest.raises(ConfigError) as info:
        load_config(bad, use_user_file=False)
    message = str(info.value)
    assert str(bad) in message and "experts.gemma3-270m.context_lenght" in message and "unknown key" in message


def test_wrong_type_says_what_is_expected(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", '[experts.gemma3-270m]\nn_gpu_layers = "all"\n')
    with pytest.raises(ConfigError) as info:
        load_config(bad, use_user_file=False)
    assert "experts.gemma3-270m.n_gpu_layers" in str(info.value) and "'auto'" in str(info.value)


def test_missing_field_blames_the_layer_that_defines_the_expert(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", '[experts.mine]\ndescription = "x"\nchat = true\n')
    with pytest.raises(ConfigError) as info:
        load_config(bad, use_user_file=False)
    assert f"{bad}: experts.mine.filename: required field is missing" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[profiles.demo]\nexperts = ["nope"]\n', "profiles.demo.experts: unknown expert 'nope'"),
        ('[profiles.demo]\nnatives = { solve = "qwen-math" }\n', "not one of the profile's experts"),
        ('[roles.solve]\nprompt = "{question}"\n', "unknown field(s) ['question']"),
        ('[roles.solve]\ncues = ["("]\n', "not a valid regex"),
        ('[router]\ntau = -1\n', "router.tau"),
        ('[experts.gemma3-270m]\nscore_chunk = 20\n', "multiple of 8"),
        ('default_profile = "fast"\n', "unknown profile 'fast'"),
    ],
)
def test_invalid_values_are_explained(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path / "bad.toml", text), use_user_file=False)
    assert expected in str(info.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", "[router\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_user_file_overrides_shipped_and_config_flag_overrides_both(tmp_path: Path) -> None:
    write(paths.user_config_file(), "[router]\ntau = 0.9\nmin_relative_gain = 0.3\n")
    assert load_config().router.tau == 0.9
    flag = write(tmp_path / "run.toml", "[router]\ntau = 0.1\n")
    layered = load_config(flag)
    assert layered.router.tau == 0.1 and layered.router.min_relative_gain == 0.3
    assert len(layered.experts) == len(load_config(use_user_file=False).experts)  # merged, not replaced


def test_models_dir_setting_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path / "c.toml", f'models_dir = "{tmp_path}/m"\n'))
    expert = config.experts["gemma3-270m"]
    assert config.model_path(expert) == tmp_path / "m" / expert.filename
    monkeypatch.setenv(paths.ENV_MODELS_DIR, str(tmp_path / "env"))
    assert load_config(use_user_file=False).model_path(expert) == tmp_path / "env" / expert.filename


def test_disable_and_unknown_profile() -> None:
    config = load_config(use_user_file=False)
    demo = config.profile("demo").without(["qwen-coder"])
    assert "qwen-coder" not in demo.experts and "code" not in demo.natives
    with pytest.raises(ConfigError, match="every expert"):
        config.profile("demo").without(list(config.profile("demo").experts))
    with pytest.raises(ConfigError, match="unknown profile"):
        config.profile("nope")


def test_shipped_file_is_the_repo_models_toml() -> None:
    assert shipped_config_file().read_bytes() == (Path(__file__).parent.parent / "models.toml").read_bytes()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[router]\ntau = 0.3\n# caf\xe9\n", "not UTF-8 text (byte 0xe9 on line 3)"),
        (b"tau = " + b"9" * 5000 + b"\n", "not valid TOML: Exceeds the limit"),  # tomllib's ValueError
        (b"x = " + b"[" * 3000 + b"]" * 3000 + b"\n", "not valid TOML: nested too deeply"),
    ],
)
def test_unreadable_bytes_are_config_errors_naming_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_config(bad, use_user_file=False)
    assert str(info.value).startswith(f"{bad}: {expected}")


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf[router]\ntau = 0.25\n")
    assert load_config(bom, use_user_file=False).router.tau == 0.25


def test_config_flag_naming_a_directory_or_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"^{tmp_path} is a directory, not a models.toml file; give the file's path"):
        load_config(tmp_path, use_user_file=False)
    link = tmp_path / "link.toml"
    link.symlink_to(tmp_path / "gone.toml")
    with pytest.raises(ConfigError) as info:
        load_config(link, use_user_file=False)
    assert str(info.value) == (
        f"config file not found: {link} (a symbolic link to {tmp_path / 'gone.toml'}, which does not exist); "
        "give the path of an existing models.toml"
    )


def test_an_unreadable_user_config_directory_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    user = write(paths.user_config_file(), "[router]\ntau = 0.3\n")

    class Denied(type(user)):  # what stat() raises in a directory this user may not enter
        def is_file(self) -> bool:
            raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(paths, "user_config_file", lambda: Denied(user))
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == f"cannot read your config file {user}: Permission denied; check its permissions"
