"""``flowdeck mock`` scripts what ``MockConfig`` scripts: ``--config mock.toml`` and flags for the common cases."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from flowdeck._cli import app
from flowdeck.testing import Faults, MockConfig
from flowdeck.testing._command import build_parser, config_from
from typer.testing import CliRunner

from tests._cli import FLOWDECK, bash, env_with, reap_spawned, spawn  # noqa: F401 - reap_spawned: autouse

runner = CliRunner()

MOCK_TOML = """
seed = 5
run_seconds = [0.1, 0.2]
failure_rate = 0.25
databar_credits = 10
start_quota = 50
gumloop_projects = { team = ["mock-user", "alice"] }

[databar_flows.enrich]
domain = true
company = false

[faults]
rate = 0.1
kinds = ["500", "503"]
retry_after = 2
"""


def _config(*args: str) -> MockConfig:
    return config_from(build_parser().parse_args(list(args)))


def test_config_file_is_a_mock_config(tmp_path: Path) -> None:
    """Every key of mock.toml lands in the MockConfig the mocks serve with."""
    (tmp_path / "mock.toml").write_text(MOCK_TOML)
    config = _config("--config", str(tmp_path / "mock.toml"))
    assert config.seed == 5 and config.run_seconds == (0.1, 0.2) and config.failure_rate == 0.25
    assert config.databar_credits == 10 and config.start_quota == 50
    assert config.databar_flows == {"enrich": {"domain": True, "company": False}}
    assert config.gumloop_projects == {"team": ("mock-user", "alice")}
    assert config.faults == Faults(rate=0.1, kinds=("500", "503"), retry_after=2)


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    """A flag given beats the file's value; the file's other values stand."""
    (tmp_path / "mock.toml").write_text(MOCK_TOML)
    config = _config(
        "--config", str(tmp_path / "mock.toml"), "--credits", "3", "--fail-rate", "0", "--latency", "0.5",
        "--required-inputs", "enrich=company", "--optional-inputs", "databar:flow/other=a,b",
    )  # fmt: skip
    assert config.databar_credits == 3 and config.failure_rate == 0 and config.seed == 5
    assert config.faults.kinds == ("500", "503") and config.faults.latency == 0.5  # the file's faults, later
    assert config.databar_flows == {"enrich": {"domain": True, "company": True}, "other": {"a": False, "b": False}}


def test_server_error_flag_injects_each_5xx() -> None:
    """--server-errors P answers that share of requests with 500, 502, 503 or 504, beside the other faults."""
    faults = _config("--server-errors", "40%", "--rate-limit", "10%").faults
    assert faults.rate == pytest.approx(0.5)
    assert set(faults.kinds) == {"500", "502", "503", "504", "429"}  # each a fifth of the faults
    assert len({faults.kinds.count(kind) for kind in faults.kinds}) == 1
    assert _config().faults.rate == 0 and _config().databar_credits is None and _config().run_seconds == (1.0, 2.0)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("seed = 'x'", "mock.toml: seed = 'x' is not a whole number"),
        ("colour = 1", "mock.toml: unknown key 'colour'; the keys are: seed, run_seconds,"),
        ("failure_rate = 2", "mock.toml: MockConfig: failure_rate=2.0 is not between 0 and 1"),
        ("databar_credits = -5", "mock.toml: MockConfig: databar_credits=-5.0 must be 0 or more credits"),
        ("[databar_flows.'flow/x']\na = true", "databar_flows={'flow/x': {'a': True}} names 'flow/x', which is not a"),
        ("run_seconds = [1]", "mock.toml: run_seconds = [1] is not [shortest, longest] seconds"),
        ("[databar_flows]\nenrich = { domain = 'yes' }", "mock.toml: databar_flows = {'enrich': {'domain': 'yes'}} is"),
        ("[faults]\nkinds = ['418']", "mock.toml: Faults: kinds=('418',) has unknown kind '418'"),
        ("[faults]\nrate = 0.1\nspeed = 2", "mock.toml: unknown key 'faults.speed'; the keys are: faults.rate,"),
        ("seed = ", "mock.toml: not valid TOML (Invalid value"),
    ],
)
def test_bad_config_file_is_one_line(tmp_path: Path, toml: str, message: str) -> None:
    """A bad value or key in mock.toml is one line naming file, key and value; exit 2, no traceback."""
    (tmp_path / "mock.toml").write_text(toml)
    result = runner.invoke(app, ["mock", "--config", str(tmp_path / "mock.toml")])
    text = result.stderr.strip()
    assert result.exit_code == 2 and text.count("\n") == 0 and "Traceback" not in text, text
    assert text.startswith(f"error: --config {tmp_path}/") and message in text, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--credits", "lots"], "argument --credits: 'lots' is not a number of credits"),
        (["--credits", "-5"], "argument --credits: '-5' must be 0 or more credits"),
        (["--required-inputs", "enrich"], "argument --required-inputs: 'enrich' is not FLOW=INPUT[,INPUT...]"),
        (["--optional-inputs", "gumloop:x=a"], "'gumloop:x' is not a Databar flow id"),
        (["--server-errors", "2"], "argument --server-errors: '2' is not between 0 and 1"),
        (["--server-errors", "60%", "--drop-rate", "50%"], "--drop-rate and --server-errors add up to more than 100%"),
        (["--config", "no-such.toml"], "--config no-such.toml: no such file"),
    ],
)
def test_new_flag_errors_are_one_line(args: list[str], message: str) -> None:
    """Bad values of the scripting flags get the one-line usage error every flag gets."""
    result = runner.invoke(app, ["mock", *args])
    text = result.stderr.strip()
    assert result.exit_code == 2 and text.count("\n") == 0, text
    assert text.startswith("error: ") and message in text and text.endswith("(see flowdeck mock --help)"), text


@pytest.mark.slow
def test_required_input_in_mock(tmp_path: Path) -> None:
    """With a flow's input declared required, batch --check names the rows where it is empty."""
    (tmp_path / "leads.csv").write_text("domain,company\na.com,A\nb.com,B\n,C\nd.com,D\n,E\n")
    script = textwrap.dedent("""
        set -e
        eval "$(flowdeck mock --env --required-inputs enrich=domain --optional-inputs enrich=company --credits 100 \\
                2>banner.txt)"
        flowdeck batch databar:flow/enrich leads.csv --out out.jsonl --check > check.txt 2>&1 || echo "check exit $?"
        kill "$FLOWDECK_MOCK_PID"
    """)
    done = bash(script, {}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "check exit 1" in done.stdout
    check = (tmp_path / "check.txt").read_text()
    assert re.search(r"required input 'domain' is empty in rows 4, 6", check)  # lines of the file, check
    banner = (tmp_path / "banner.txt").read_text()
    assert "100 Databar credits" in banner and "databar:flow/enrich takes company (optional), domain" in banner


def test_config_file_served_by_flowdeck_mock(tmp_path: Path) -> None:
    """`flowdeck mock --config` serves the file's configuration and says so in its banner."""
    (tmp_path / "mock.toml").write_text("seed = 11\ndatabar_credits = 0\n")
    proc = spawn(["mock", "--config", str(tmp_path / "mock.toml")], {})
    assert proc.stdout is not None and proc.stderr is not None
    exports = {}
    while "SUPERAI_PASSWORD" not in exports:
        line = proc.stdout.readline()
        assert line, proc.communicate()
        key, _, value = line.removeprefix("export ").strip().partition("=")
        exports[key] = value.strip("'")
    refused = subprocess.run(  # noqa: S603 - our own CLI
        [FLOWDECK, "run", "databar:flow/x", "-i", "domain=a.com"], env=env_with(exports),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    proc.terminate()
    _, banner = proc.communicate(timeout=20)
    assert refused.returncode != 0 and "406" in refused.stderr, refused.stderr  # no credits left
    assert "seed 11" in banner and "0 Databar credits" in banner
