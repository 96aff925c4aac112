"""An AgentMap project's config runs unchanged; the project's config is found from below.

AgentMap's ``agentmap_config.yaml`` (tests/compat/, modeled on its template) is translated with
a warning per ignored key; ``env:NAME`` API keys name a variable instead of being sent as the
key; our own format still refuses a misspelt key; a command run in ``graphs/`` finds the
project's config and agents, and never advises scaffolding an agent the project already has.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentmap import ConfigError
from agentmap.config import load_settings
from helpers import clean_env

AGENTMAP = Path(sys.executable).parent / "agentmap"
COMPAT = Path(__file__).resolve().parent / "compat"
HEADER = "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field"
HELLO = f"{HEADER}\nHello,Greet,greeter,,,,name,greeting\n"


def agentmap(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGENTMAP), *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture
def agentmap_project(tmp_path: Path) -> Path:
    """A project laid out as AgentMap lays one out, with AgentMap's config file (and .git, so
    the upward search for a config stops at it)."""
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    shutil.copy(COMPAT / "agentmap_config.yaml", root / "agentmap_config.yaml")
    agents = root / "agentmap_data" / "custom_agents"
    agents.mkdir(parents=True)
    shutil.copy(COMPAT / "greeter_agent.py", agents / "greeter_agent.py")
    workflows = root / "agentmap_data" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "hello.csv").write_text(HELLO, encoding="utf-8")
    return root


IGNORED = (
    "autocompile",
    "storage_config_path",
    "paths.custom_tools",
    "memory",
    "prompts.directory",
    "prompts.enable_cache",
    "logging.handlers",
    "llm.openai.top_p",
    "llm.resilience",
)


def test_an_agentmap_config_runs_with_a_warning_per_ignored_key(agentmap_project: Path) -> None:
    done = agentmap(
        agentmap_project, "run", "agentmap_data/workflows/hello.csv", "--state", '{"name": "Ada"}'
    )
    assert done.returncode == 0, done.stderr
    assert "Hello, Ada!" in done.stdout
    config = agentmap_project / "agentmap_config.yaml"
    for key in IGNORED:
        line = (
            f"{config}: AgentMap setting '{key}' has no meaning in agentmap-runner and is ignored"
        )
        assert done.stderr.count(line) == 1, (key, done.stderr)
    assert "Error" not in done.stderr

    checked = agentmap(agentmap_project, "validate", "agentmap_data/workflows/hello.csv")
    assert checked.returncode == 0, checked.stderr
    assert "is valid" in checked.stdout
    assert "'memory' has no meaning" in checked.stderr


def test_agentmap_keys_map_onto_ours(
    agentmap_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    environ = {"OPENAI_API_KEY": "sk-not-read-at-load"}
    with caplog.at_level(logging.WARNING, logger="agentmap"):
        settings = load_settings(cwd=agentmap_project, environ=environ)
    data = agentmap_project / "agentmap_data"
    assert settings.source == agentmap_project / "agentmap_config.yaml"
    assert settings.paths.custom_agents == data / "custom_agents"
    assert settings.paths.functions == data / "custom_functions"
    assert settings.paths.graphs == data / "workflows"  # paths.csv_repository
    assert settings.paths.prompts == data / "prompts" / "registry.yaml"  # prompts.registry_file
    assert settings.execution.tracking.track_outputs is True
    assert settings.execution.success_policy.custom_function is None  # AgentMap writes ""
    assert (settings.logging.level, settings.logging.format) == (
        "WARNING",
        "[%(levelname)s] %(name)s: %(message)s",
    )
    assert settings.llm.openai.model == "gpt-4.1-mini"  # env:COMPAT_OPENAI_MODEL:gpt-4.1-mini
    assert settings.llm.openai.temperature == 0.3
    assert settings.llm.anthropic.max_tokens == 2048
    assert settings.llm.google.model == "gemini-2.5-flash"
    assert settings.llm.routing.routing_matrix == {"openai": {"low": "gpt-4o-mini"}}
    assert "llm.google" not in caplog.text and "'routing'" not in caplog.text


def test_env_api_keys_name_a_variable_and_are_never_sent_literally(
    agentmap_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPAT_OPENAI_MODEL", "gpt-from-env")
    settings = load_settings(cwd=agentmap_project, environ={})
    for provider, variable in (
        (settings.llm.openai, "OPENAI_API_KEY"),
        (settings.llm.anthropic, "ANTHROPIC_API_KEY"),
        (settings.llm.google, "GOOGLE_API_KEY"),
    ):
        assert provider.api_key is None
        assert provider.api_key_env == variable
    assert settings.llm.openai.model == "gpt-from-env"


def test_env_api_keys_work_in_our_format_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MY_GATEWAY_KEY", raising=False)
    (tmp_path / "agentmap_config.yaml").write_text(
        "llm:\n"
        "  openai: {api_key: 'env:MY_OPENAI_KEY'}\n"
        "  providers:\n"
        "    gateway: {base_url: 'http://127.0.0.1:9/v1', api_key: 'env:MY_GATEWAY_KEY:local'}\n",
        encoding="utf-8",
    )
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings.llm.openai.api_key is None
    assert settings.llm.openai.api_key_env == "MY_OPENAI_KEY"
    gateway = settings.llm.providers["gateway"]
    assert gateway.api_key is not None and gateway.api_key.get_secret_value() == "local"


def test_a_missing_variable_for_a_setting_is_a_config_error(
    agentmap_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = agentmap_project / "agentmap_config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("env:COMPAT_OPENAI_MODEL:gpt-4.1-mini", "env:COMPAT_UNSET"))
    monkeypatch.delenv("COMPAT_UNSET", raising=False)
    with pytest.raises(ConfigError) as raised:
        load_settings(cwd=agentmap_project, environ={})
    message = str(raised.value)
    assert str(config) in message
    assert "llm.openai.model" in message and "COMPAT_UNSET" in message


def test_a_typo_in_our_format_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "agentmap_config.yaml").write_text("execution:\n  max_stpes: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'execution.max_stpes'.*max_steps"):
        load_settings(cwd=tmp_path, environ={})


def test_a_command_in_graphs_finds_the_projects_config(agentmap_project: Path) -> None:
    workflows = agentmap_project / "agentmap_data" / "workflows"
    done = agentmap(workflows, "run", "hello.csv", "--state", '{"name": "Bo"}')
    assert done.returncode == 0, done.stderr
    assert "Hello, Bo!" in done.stdout
    assert f"{agentmap_project / 'agentmap_config.yaml'}: AgentMap setting" in done.stderr


def test_the_upward_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "agentmap_config.yaml").write_text("execution: {max_steps: 7}\n")
    inner = tmp_path / "repo" / "graphs"
    inner.mkdir(parents=True)
    assert load_settings(cwd=inner, environ={}).execution.max_steps == 7
    (tmp_path / "repo" / ".git").mkdir()
    assert load_settings(cwd=inner, environ={}).source is None


def test_no_scaffold_advice_for_an_agent_defined_elsewhere(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "graphs").mkdir(parents=True)
    (root / "agentmap_config.yaml").write_text("paths: {custom_agents: agents}\n")
    (root / "lib").mkdir()
    shutil.copy(COMPAT / "greeter_agent.py", root / "lib" / "greeter_agent.py")
    (root / "graphs" / "hello.csv").write_text(HELLO, encoding="utf-8")

    checked = agentmap(root / "graphs", "validate", "hello.csv")
    assert checked.returncode != 0
    output = checked.stdout + checked.stderr
    assert "unknown agent type 'greeter'" in output
    assert str(root / "lib" / "greeter_agent.py") in output
    assert "agentmap scaffold" not in output

    scaffolded = agentmap(root / "graphs", "scaffold", "hello.csv")
    assert scaffolded.returncode == 0, scaffolded.stderr
    assert "no stub written" in scaffolded.stderr
    assert not (root / "agents").exists()

    (root / "lib" / "greeter_agent.py").unlink()  # now it exists nowhere: scaffolding is advised
    checked = agentmap(root / "graphs", "validate", "hello.csv")
    assert "agentmap scaffold hello.csv" in checked.stdout + checked.stderr
