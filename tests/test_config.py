"""Settings: built-in defaults, agentmap_config.yaml, AGENTMAP_* overrides, and clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from agentmap import ConfigError
from agentmap.config import (
    PathSettings,
    ProviderSettings,
    RoutingSettings,
    Settings,
    StorageSettings,
    TaskTypeSettings,
    load_settings,
)
from agentmap.container import build_container


def defaults_in(folder: Path, source: Path | None = None) -> Settings:
    """The built-in defaults with their relative paths resolved against ``folder``."""
    defaults = PathSettings()
    paths = PathSettings(
        **{key: folder / getattr(defaults, key) for key in PathSettings.model_fields}
    )
    storage = StorageSettings(url=f"sqlite:///{folder / '.agentmap' / 'runs.db'}")
    return Settings().model_copy(update={"paths": paths, "storage": storage, "source": source})


@pytest.fixture
def config_file(write_file: Callable[..., Path]) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        return write_file("conf/agentmap_config.yaml", text)

    return write


# --- sources -------------------------------------------------------------------------------


def test_defaults_apply_with_no_config_file(tmp_path: Path) -> None:
    assert load_settings(environ={}, cwd=tmp_path) == defaults_in(tmp_path)


def test_defaults_made_without_validating_are_the_validated_defaults() -> None:
    # The defaults are made with model_construct (no validator built): they must be exactly
    # what validating nothing gives, section by section, including which fields count as set.
    sections = [Settings, *(field.annotation for field in Settings.model_fields.values())]
    sections += [ProviderSettings, RoutingSettings, TaskTypeSettings]
    for section in sections:
        if not (isinstance(section, type) and issubclass(section, BaseModel)):
            continue  # Settings.source: a path, not a section
        made, validated = section.model_construct(), section.model_validate({})
        assert made == validated, section.__name__
        assert made.model_fields_set == validated.model_fields_set, section.__name__
    for name in ("openai", "anthropic", "google"):
        builtin = getattr(Settings().llm, name)
        given = builtin.model_dump(exclude_unset=True)
        assert ProviderSettings.model_validate(given) == builtin, name


def test_default_values() -> None:
    settings = Settings()
    assert settings.execution.max_steps == 10_000
    assert settings.execution.success_policy.type == "handled"
    assert settings.execution.success_policy.critical_nodes == ()
    assert settings.execution.success_policy.custom_function is None
    assert (
        settings.execution.tracking.enabled,
        settings.execution.tracking.track_inputs,
        settings.execution.tracking.track_outputs,
    ) == (True, False, False)
    assert settings.logging.level == "WARNING"
    assert settings.paths.custom_agents == Path("agents")
    assert settings.paths.functions == Path("functions")


def test_settings_are_read_from_a_yaml_file(config_file: Callable[[str], Path]) -> None:
    file = config_file(
        """
        execution:
          max_steps: 50
          tracking:
            track_inputs: true
        logging:
          level: debug
        """
    )
    settings = load_settings(file, environ={})
    assert settings.execution.max_steps == 50
    assert settings.execution.tracking.track_inputs is True
    assert settings.execution.tracking.enabled is True
    assert settings.logging.level == "DEBUG"
    assert settings.source == file.resolve()


def test_config_file_in_the_current_directory_is_found(
    tmp_path: Path, write_file: Callable[..., Path]
) -> None:
    write_file("agentmap_config.yaml", "execution:\n  max_steps: 7\n")
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.execution.max_steps == 7
    assert settings.source == (tmp_path / "agentmap_config.yaml").resolve()


def test_empty_config_file_means_defaults(config_file: Callable[[str], Path]) -> None:
    file = config_file("# nothing set\n")
    assert load_settings(file, environ={}) == defaults_in(file.parent, file.resolve())


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_settings(missing, environ={})
    assert caught.value.file == str(missing)


def test_config_file_that_is_not_a_mapping_is_a_config_error(
    config_file: Callable[[str], Path],
) -> None:
    file = config_file("- paths\n- execution\n")
    with pytest.raises(ConfigError, match="must be a mapping of sections"):
        load_settings(file, environ={})


def test_success_policy_can_be_given_by_name(config_file: Callable[[str], Path]) -> None:
    file = config_file("execution:\n  success_policy: final_node\n")
    policy = load_settings(file, environ={}).execution.success_policy
    assert (policy.type, policy.critical_nodes, policy.custom_function) == ("final_node", (), None)


# --- environment ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "read", "expected"),
    [
        pytest.param(
            "AGENTMAP_EXECUTION__MAX_STEPS", "500", lambda s: s.execution.max_steps, 500, id="int"
        ),
        pytest.param(
            "AGENTMAP_EXECUTION__TRACKING__ENABLED",
            "false",
            lambda s: s.execution.tracking.enabled,
            False,
            id="bool-false",
        ),
        pytest.param(
            "AGENTMAP_EXECUTION__TRACKING__TRACK_OUTPUTS",
            "true",
            lambda s: s.execution.tracking.track_outputs,
            True,
            id="bool-true",
        ),
        pytest.param(
            "AGENTMAP_EXECUTION__SUCCESS_POLICY__CRITICAL_NODES",
            '["Pay", "Ship"]',
            lambda s: s.execution.success_policy.critical_nodes,
            ("Pay", "Ship"),
            id="json-list",
        ),
        pytest.param(
            "AGENTMAP_EXECUTION__SUCCESS_POLICY",
            "final_node",
            lambda s: s.execution.success_policy.type,
            "final_node",
            id="policy-by-name",
        ),
        pytest.param(
            "AGENTMAP_LOGGING__LEVEL", "info", lambda s: s.logging.level, "INFO", id="str"
        ),
    ],
)
def test_environment_variable_overrides_a_key(
    tmp_path: Path, variable: str, value: str, read: Callable[[Settings], Any], expected: Any
) -> None:
    assert read(load_settings(environ={variable: value}, cwd=tmp_path)) == expected


def test_environment_overrides_the_config_file(config_file: Callable[[str], Path]) -> None:
    file = config_file("execution:\n  max_steps: 50\n  tracking:\n    track_inputs: true\n")
    settings = load_settings(file, environ={"AGENTMAP_EXECUTION__MAX_STEPS": "500"})
    assert settings.execution.max_steps == 500
    assert settings.execution.tracking.track_inputs is True


def test_process_environment_is_read_by_default(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTMAP_EXECUTION__MAX_STEPS", "123")
    assert load_settings().execution.max_steps == 123
    assert build_container().settings().execution.max_steps == 123


def test_unrelated_agentmap_variable_is_ignored(tmp_path: Path) -> None:
    environ = {"AGENTMAP_TEST_DATABASE_URL": "postgresql://localhost/test", "AGENTMAP_HOME": "/x"}
    assert load_settings(environ=environ, cwd=tmp_path) == defaults_in(tmp_path)


def test_environment_variable_with_unknown_section_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"AGENTMAP_BOGUS__KEY": "1"}, cwd=tmp_path)
    assert "AGENTMAP_BOGUS__KEY" in str(caught.value)


def test_environment_variable_with_unknown_key_names_the_variable_and_a_suggestion(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"AGENTMAP_EXECUTION__MAX_STEP": "5"}, cwd=tmp_path)
    message = str(caught.value)
    assert "AGENTMAP_EXECUTION__MAX_STEP" in message
    assert "'execution.max_step'" in message
    assert "did you mean 'max_steps'?" in message


def test_environment_variable_with_wrong_type_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"AGENTMAP_EXECUTION__MAX_STEPS": "lots"}, cwd=tmp_path)
    assert str(caught.value).startswith("AGENTMAP_EXECUTION__MAX_STEPS: execution.max_steps:")


def test_environment_variable_below_a_scalar_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AGENTMAP_EXECUTION__MAX_STEPS__X"):
        load_settings(environ={"AGENTMAP_EXECUTION__MAX_STEPS__X": "1"}, cwd=tmp_path)


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        pytest.param(
            "execution:\n  max_step: 5\n", "execution.max_step", "max_steps", id="section-key"
        ),
        pytest.param("path:\n  functions: fns\n", "path", "paths", id="top-level-section"),
        pytest.param(
            "execution:\n  tracking:\n    enable: false\n",
            "execution.tracking.enable",
            "enabled",
            id="nested-key",
        ),
        pytest.param("logging:\n  levle: INFO\n", "logging.levle", "level", id="logging-key"),
    ],
)
def test_unknown_key_names_the_key_the_file_and_a_suggestion(
    config_file: Callable[[str], Path], text: str, key: str, suggestion: str
) -> None:
    file = config_file(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(file, environ={})
    message = str(caught.value)
    assert f"unknown key '{key}'" in message
    assert str(file.resolve()) in message
    assert f"did you mean '{suggestion}'?" in message
    assert caught.value.file == str(file.resolve())


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("execution:\n  max_steps: lots\n", "execution.max_steps", id="int"),
        pytest.param("execution:\n  max_steps: 0\n", "execution.max_steps", id="int-below-1"),
        pytest.param(
            "execution:\n  tracking:\n    enabled: maybe\n", "execution.tracking.enabled", id="bool"
        ),
        pytest.param(
            "execution:\n  success_policy: sometimes\n",
            "execution.success_policy.type",
            id="policy-name",
        ),
        pytest.param("logging:\n  level: LOUD\n", "logging.level", id="log-level"),
        pytest.param("execution: 5\n", "execution", id="section-not-a-mapping"),
    ],
)
def test_wrong_type_names_the_key_and_the_file(
    config_file: Callable[[str], Path], text: str, key: str
) -> None:
    file = config_file(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(file, environ={})
    assert str(caught.value).startswith(f"{file.resolve()}: {key}:")


def test_all_problems_of_a_config_file_are_reported_at_once(
    config_file: Callable[[str], Path],
) -> None:
    file = config_file("execution:\n  max_steps: lots\n  bogus: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(file, environ={})
    message = str(caught.value)
    assert "execution.max_steps" in message
    assert "'execution.bogus'" in message


def test_malformed_yaml_is_a_config_error_with_the_line(config_file: Callable[[str], Path]) -> None:
    file = config_file("execution:\n  max_steps: 5\n   tracking: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(file, environ={})
    assert caught.value.row == 3
    assert str(caught.value).startswith(f"{file.resolve()}:3: not valid YAML")


def test_settings_mapping_with_unknown_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'execution\.max_step'"):
        build_container({"execution": {"max_step": 5}})


# --- paths ---------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_files_folder(
    config_file: Callable[[str], Path], tmp_path: Path
) -> None:
    file = config_file("paths:\n  custom_agents: my_agents\n  functions: ../shared/fns\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    settings = load_settings(file, environ={}, cwd=elsewhere)
    assert settings.paths.custom_agents == file.parent.resolve() / "my_agents"
    assert settings.paths.functions == file.parent.resolve() / "../shared/fns"


def test_default_paths_resolve_against_the_config_files_folder(
    config_file: Callable[[str], Path], tmp_path: Path
) -> None:
    file = config_file("logging:\n  level: INFO\n")
    settings = load_settings(file, environ={}, cwd=tmp_path)
    assert settings.paths.custom_agents == file.parent.resolve() / "agents"
    assert settings.paths.functions == file.parent.resolve() / "functions"


def test_relative_paths_resolve_against_cwd_without_a_config_file(tmp_path: Path) -> None:
    settings = load_settings(environ={"AGENTMAP_PATHS__CUSTOM_AGENTS": "mine"}, cwd=tmp_path)
    assert settings.paths.custom_agents == tmp_path / "mine"
    assert settings.paths.functions == tmp_path / "functions"


def test_paths_resolve_against_the_process_cwd_by_default(project: Path) -> None:
    settings = load_settings()
    assert settings.paths.custom_agents == project / "agents"
    assert settings.source is None


def test_absolute_paths_are_kept(config_file: Callable[[str], Path], tmp_path: Path) -> None:
    target = tmp_path / "abs_agents"
    file = config_file(f"paths:\n  custom_agents: {target}\n")
    assert load_settings(file, environ={}).paths.custom_agents == target


# --- the documented config file ------------------------------------------------------------


def test_root_config_and_template_are_identical(repo: Path) -> None:
    template = repo / "src" / "agentmap" / "templates" / "agentmap_config.yaml"
    assert (repo / "agentmap_config.yaml").read_bytes() == template.read_bytes()


@pytest.mark.parametrize(
    "relative", ["agentmap_config.yaml", "src/agentmap/templates/agentmap_config.yaml"]
)
def test_documented_config_parses_to_exactly_the_defaults(repo: Path, relative: str) -> None:
    file = repo / relative
    settings = load_settings(file, environ={})
    assert settings == defaults_in(file.parent, file.resolve())


def _model_keys(model: type[BaseModel]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        keys[name] = _model_keys(annotation) if nested else None  # type: ignore[arg-type]
    return keys


def _file_keys(data: dict[str, Any]) -> dict[str, Any]:
    # A non-empty mapping is a section; `{}` is a (mapping-valued) setting's default.
    return {k: _file_keys(v) if isinstance(v, dict) and v else None for k, v in data.items()}


def test_every_settings_key_appears_in_the_documented_config(repo: Path) -> None:
    data = yaml.safe_load((repo / "agentmap_config.yaml").read_text(encoding="utf-8"))
    assert _file_keys(data) == _model_keys(Settings)
