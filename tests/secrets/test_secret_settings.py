"""Where credentials may come from, what refuses them elsewhere, and `crm-kpi doctor`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dlt.common.configuration import is_secret_hint
from dlt.common.configuration.container import Container
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

from core.credentials import (
    SECRETS,
    Secret,
    SecretInConfigError,
    configured_values,
    locate,
    secrets_of,
)
from core.settings import Settings
from ingestion.registry import SOURCES, SourceNotConfiguredError, build_source
from tests.secrets.sandbox import marker
from tests.utils import ROOT, run_cli


def _toml(secret: Secret, value: str) -> str:
    return f'[{secret.section}]\n{secret.key} = "{value}"\n'


@pytest.fixture
def dot_dlt(data_dir: Path) -> Path:
    """The test's own .dlt/ (the working directory is the test's tmp_path), and dlt made
    to read it again."""
    folder = Path(".dlt")
    folder.mkdir()
    yield folder
    Container()[PluggableRunContext].reload_providers()


def _reload() -> None:
    Container()[PluggableRunContext].reload_providers()


# -- git ---------------------------------------------------------------------------------


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


def test_secrets_files_are_ignored_by_git_and_the_examples_are_not() -> None:
    if _git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.skip("not a git work tree")
    for path in (".dlt/secrets.toml", ".env", "ingestion/hubspot/.dlt/secrets.toml"):
        assert _git("check-ignore", "-q", path).returncode == 0, f"{path} is not ignored"
    for path in (".env.example", *(f"ingestion/{s}/example.secrets.toml" for s in SOURCES)):
        assert _git("check-ignore", "-q", path).returncode == 1, f"{path} is ignored"
    assert _git("ls-files", "--error-unmatch", ".dlt/secrets.toml").returncode != 0


# -- one list of secrets -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_source_types_exactly_the_listed_secrets_as_secrets(name: str) -> None:
    """What dlt keeps out of its traces (secret-typed arguments) is what core.credentials
    lists, so the doctor, the config.toml check and the masking know every one."""
    spec = SOURCES[name].factory().ref.SPEC
    typed = {key for key, hint in spec.get_resolvable_fields().items() if is_secret_hint(hint)}
    assert typed == {s.key for s in secrets_of(name)}
    assert all(s.section == f"sources.{name}" for s in secrets_of(name))


def test_environment_variable_names() -> None:
    by_key = {s.key: s for s in SECRETS}
    assert by_key["client_secret"].env == "SOURCES__SALESFORCE__CLIENT_SECRET"
    assert by_key["alert_webhook"].env == "CRM_KPI_ALERT_WEBHOOK"
    assert Secret("postgres", "destination.postgres.credentials", "password", "").env == (
        "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD"
    )


# -- config.toml is refused --------------------------------------------------------------


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s.env)
def test_a_secret_in_config_toml_is_refused_naming_it_and_where_it_belongs(
    dot_dlt: Path, secret: Secret
) -> None:
    (dot_dlt / "config.toml").write_text(_toml(secret, "abcdefgh12345"))
    with pytest.raises(SecretInConfigError) as raised:
        Settings.from_env()
    message = str(raised.value)
    assert f"{secret.section}.{secret.key} in {(dot_dlt / 'config.toml').resolve()}" in message
    assert ".dlt/secrets.toml" in message and secret.env in message
    assert "abcdefgh12345" not in message


def test_a_secret_in_a_less_specific_section_of_config_toml_is_refused_too(dot_dlt: Path) -> None:
    # dlt would read `[sources] api_key` for HubSpot (and Pipedrive would not mind)
    (dot_dlt / "config.toml").write_text('[sources]\napi_key = "abcdefgh"\n')
    with pytest.raises(SecretInConfigError, match=r"sources\.api_key in .* is a secret"):
        Settings.from_env()


def test_settings_in_config_toml_are_still_read(dot_dlt: Path) -> None:
    (dot_dlt / "config.toml").write_text(
        '[crm_kpi]\nreporting_currency = "USD"\n[sources.salesforce]\nbatch_size = 500\n'
    )
    _reload()
    assert Settings.from_env().reporting_currency == "USD"


def test_the_command_line_refuses_to_run(dot_dlt: Path, data_dir: Path) -> None:
    (dot_dlt / "config.toml").write_text(
        '[sources.salesforce]\nclient_id = "3MVGabcdef"\nclient_secret = "s3cr3t-value"\n'
    )
    result = run_cli("run", "--source", "salesforce", "--as-of", "2026-03-31", timeout=120)
    assert result.returncode == 2, result.stderr
    assert "sources.salesforce.client_secret in" in result.stderr
    assert "SOURCES__SALESFORCE__CLIENT_SECRET" in result.stderr
    assert "s3cr3t-value" not in result.stdout + result.stderr
    assert not data_dir.exists()


def test_dlt_refuses_it_as_well_when_a_source_is_built_directly(dot_dlt: Path) -> None:
    (dot_dlt / "config.toml").write_text('[sources.hubspot]\napi_key = "pat-na1-abcdefgh"\n')
    _reload()
    with pytest.raises(SourceNotConfiguredError) as raised:
        build_source("hubspot")
    assert "sources.hubspot.api_key" in str(raised.value)
    assert "SOURCES__HUBSPOT__API_KEY" in str(raised.value)
    assert "pat-na1-abcdefgh" not in str(raised.value)


def test_a_missing_secret_is_asked_for_in_secrets_toml(dot_dlt: Path) -> None:
    _reload()
    with pytest.raises(SourceNotConfiguredError, match="SOURCES__PIPEDRIVE__API_TOKEN") as raised:
        build_source("pipedrive")
    assert "secrets.toml, never config.toml" in str(raised.value)


# -- where a secret is found -------------------------------------------------------------


def test_locate_names_the_variable_or_the_file_and_key(
    dot_dlt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hubspot, pipedrive = secrets_of("hubspot")[0], secrets_of("pipedrive")[0]
    (dot_dlt / "secrets.toml").write_text(
        _toml(hubspot, "from-the-file-1") + _toml(pipedrive, "from-the-file-2")
    )
    monkeypatch.setenv("SOURCES__PIPEDRIVE__API_TOKEN", "from-the-environment")
    assert [f.where for f in locate(hubspot)] == [
        f"{(dot_dlt / 'secrets.toml').resolve()}, key sources.hubspot.api_key"
    ]
    # the environment first: dlt reads it first
    assert [f.where for f in locate(pipedrive)][0] == (
        "environment variable SOURCES__PIPEDRIVE__API_TOKEN"
    )
    assert {"from-the-file-1", "from-the-environment"} <= set(configured_values())


# -- crm-kpi doctor ----------------------------------------------------------------------


def test_doctor_tells_where_each_credential_is_and_never_its_value(dot_dlt: Path) -> None:
    client_secret, token, hook = marker("a"), marker("b"), marker("c")
    secrets_toml = dot_dlt / "secrets.toml"
    secrets_toml.write_text(f'[sources.salesforce]\nclient_secret = "{client_secret}"\n')
    secrets_toml.chmod(0o600)
    result = run_cli(
        "doctor",
        env={
            "SOURCES__HUBSPOT__API_KEY": token,
            "CRM_KPI_ALERT_WEBHOOK": f"https://hooks.slack.com/services/T0/B0/{hook}",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "environment variable SOURCES__HUBSPOT__API_KEY" in out
    assert "environment variable CRM_KPI_ALERT_WEBHOOK" in out
    assert f"{secrets_toml.resolve()}, key sources.salesforce.client_secret" in out
    assert "SOURCES__PIPEDRIVE__API_TOKEN" in out and "not set" in out
    assert "hubspot     configured" in out
    assert "No problem found." in out
    for value in (client_secret, token, hook):
        assert value not in out + result.stderr


def test_doctor_warns_of_a_secrets_file_others_can_read(dot_dlt: Path) -> None:
    secrets_toml = dot_dlt / "secrets.toml"
    secrets_toml.write_text('[sources.hubspot]\napi_key = "pat-na1-abcdefgh"\n')
    secrets_toml.chmod(0o644)
    env_file = Path(".env")
    env_file.write_text("CRM_KPI_ALERT_WEBHOOK=https://hooks.slack.com/services/T/B/x\n")
    env_file.chmod(0o640)
    result = run_cli("doctor")
    assert result.returncode == 1
    assert f"{secrets_toml.resolve()} can be read by other users of this machine (mode 644)" in (
        result.stdout
    )
    assert f"chmod 600 {env_file.resolve()}" in result.stdout


def test_doctor_warns_of_a_secrets_file_git_would_commit(dot_dlt: Path) -> None:
    subprocess.run(["git", "init", "-q", "."], check=True)
    secrets_toml = dot_dlt / "secrets.toml"
    secrets_toml.write_text('[sources.hubspot]\napi_key = "pat-na1-abcdefgh"\n')
    secrets_toml.chmod(0o600)
    result = run_cli("doctor")
    assert result.returncode == 1
    assert f"{secrets_toml.resolve()} is not ignored by git" in result.stdout
    Path(".gitignore").write_text(".dlt/secrets.toml\n")
    assert run_cli("doctor").returncode == 0


def test_doctor_reports_a_secret_in_config_toml(dot_dlt: Path) -> None:
    (dot_dlt / "config.toml").write_text('[crm_kpi]\nalert_webhook = "https://hooks/x"\n')
    result = run_cli("doctor")
    assert result.returncode == 1
    assert "Problem: crm_kpi.alert_webhook in" in result.stdout
    assert "CRM_KPI_ALERT_WEBHOOK" in result.stdout
    assert "https://hooks/x" not in result.stdout
