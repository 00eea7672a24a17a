"""run, status and cancel: what they print and where, their exit codes and usage errors; help, version."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowdeck
import pytest
from flowdeck import Client, Run
from flowdeck._cli import app, batch, inputs, run, status
from flowdeck.testing import MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import (
    closed_port,
    one_line_error,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
)
from tests._cli import flowdeck as run_flowdeck

runner = CliRunner()


@pytest.fixture
def slow_mocks() -> Any:
    with MockProviders(MockConfig(seed=5, run_seconds=(20.0, 20.0))) as mocks:
        yield mocks


ENDED = {"databar": ("databar:flow/ended", "domain"), "gumloop": ("gumloop:ended", "topic")}


def _finished(provider: str) -> str:
    ref, key = ENDED[provider]
    done = runner.invoke(app, ["run", ref, "-i", f"{key}=x", "--json"])
    assert done.exit_code == 0, done.output
    return str(json.loads(done.stdout)["run_id"])


def _word(provider: str) -> str:
    return {"databar": "completed", "gumloop": "DONE"}[provider]


@pytest.fixture
def slow_mocks_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Mock providers whose runs take 20 s: still going when a test cancels them."""
    with MockProviders(MockConfig(seed=5, run_seconds=(20.0, 20.0))) as mocks:
        for key, value in mocks.env.items():
            monkeypatch.setenv(key, value)
        yield mocks.env


def test_run_json(mock_env: dict[str, str]) -> None:
    """run --json prints the run with its outputs as JSON."""
    result = runner.invoke(app, ["run", "databar:flow/cli", "-i", "domain=stripe.com", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "SUCCEEDED" and body["outputs"]["inputs"] == {"domain": "stripe.com"}


def test_run_failure_exit_1(mock_env: dict[str, str]) -> None:
    """A failed run exits 1 with the provider's reason."""
    result = runner.invoke(app, ["run", "gumloop:fail-flow", "-i", "topic=x"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "rate limited by upstream model" in result.output


def test_version() -> None:
    """--version prints flowdeck's version."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"flowdeck {flowdeck.__version__}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "pages:=[1,"], "-i 'pages:=[1,': the value after := is not JSON"),
        (["-i", "novalue"], "expected key=value (a string) or key:=<json>"),
        (["-i", "=x"], "expected key=value"),
        (["--timeout", "-5"], "-5 must be more than 0 seconds"),
        (["--timeout", "0"], "0 must be more than 0 seconds"),
        (["--bogus"], "No such option: --bogus"),
    ],
)
def test_run_usage_errors(served_mocks: MockProviders, mock_env: dict[str, str], args: list[str], message: str) -> None:
    """run's usage errors are one line and send nothing."""
    before = served_mocks.start_count
    line = one_line_error(runner.invoke(app, ["run", "superai:7c9e6679-7425-40de-944b-e07fc1f90ae7", *args]))
    assert message in line
    assert served_mocks.start_count == before


def test_no_wait_status_cancel(mock_env: dict[str, str], tmp_path: Path) -> None:
    """run --no-wait, then status and cancel by the printed id."""
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"domain": "a.com"}))
    started = runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(inputs), "--no-wait", "--json"])
    assert started.exit_code == 0, started.output
    run_id = json.loads(started.stdout)["run_id"]
    shown = runner.invoke(app, ["status", "databar", run_id, "--json"])
    assert json.loads(shown.stdout)["run_id"] == run_id
    refused = runner.invoke(app, ["cancel", "stackai", "anything"])
    assert refused.exit_code == 2 and "does not support" in refused.output


def test_no_wait_hints(mock_env: dict[str, str]) -> None:
    """run --no-wait prints the commands that follow and cancel the run."""
    result = runner.invoke(app, ["run", "gumloop:nowait-hint", "-i", "topic=x", "--no-wait"])
    assert result.exit_code == 0, result.output
    run_id = re.search(r"run (\S+):", result.stdout)
    assert run_id is not None
    assert f"flowdeck status gumloop {run_id.group(1)}" in result.stderr
    assert f"flowdeck cancel gumloop {run_id.group(1)}" in result.stderr


def test_status_prints_known(slow_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    """status and cancel print only what is known of a run, no nulls."""
    for key, value in slow_mocks.env.items():
        monkeypatch.setenv(key, value)
    started = runner.invoke(app, ["run", "databar:flow/known", "-i", "domain=a.com", "--no-wait", "--json"])
    run_id = json.loads(started.stdout)["run_id"]
    for command in ("status", "cancel"):
        result = runner.invoke(app, [command, "databar", run_id, "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert None not in body.values(), body  # no "url": null and the like
        assert "workflow" not in body, body  # a run looked up by id: its workflow is not known, not invented
        assert body["run_id"] == run_id and body["provider"] == "databar"
    human = runner.invoke(app, ["status", "databar", run_id])
    assert human.stdout.startswith(f"databar run {run_id}: ") and "databar:run/" not in human.stdout


def test_stackai_status_refused(mock_env: dict[str, str]) -> None:
    """status on StackAI, which has no status endpoint, exits 2."""
    line = one_line_error(runner.invoke(app, ["status", "stackai", "never-existed"]), code=2)
    assert "stackai has no status endpoint" in line and "PENDING" not in line


def test_status_unknown_run(mock_env: dict[str, str]) -> None:
    """status of an unknown run is HTTP 404, naming the provider once."""
    line = one_line_error(runner.invoke(app, ["status", "gumloop", "no-such-run"]), code=1)
    assert "HTTP 404" in line and line.count("gumloop") == 1  # the provider is named once


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "nowhere", "x"], "unknown provider 'nowhere'"),
        (["status", "databar", ".."], "databar run id is not a valid id"),
        (["cancel"], "Missing argument 'PROVIDER'"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_command_usage_errors(mock_env: dict[str, str], args: list[str], message: str) -> None:
    """Unknown providers, bad ids, missing arguments and commands are usage errors."""
    assert message in one_line_error(runner.invoke(app, args))


def test_bare_flowdeck_prints_help() -> None:
    """flowdeck with no command prints its help."""
    result = runner.invoke(app, [])
    assert result.exit_code == 0 and "Commands" in result.stdout and "batch" in result.stdout


def test_markup_prints_literally(mock_env: dict[str, str]) -> None:
    """Rich markup and emoji codes in references and inputs print literally."""
    ok = runner.invoke(app, ["run", "gumloop:rocket", "-i", "topic=[bold]x[/bold] :smile:"])
    assert ok.exit_code == 0, ok.output
    assert "gumloop:rocket run " in ok.stderr and "\N{ROCKET}" not in ok.output
    failed = runner.invoke(app, ["run", "gumloop:fail-[red]x", "-i", "topic=x"])
    assert failed.exit_code == 1
    assert "gumloop:fail-[red]x run " in failed.stderr
    refused = one_line_error(runner.invoke(app, ["run", "gumloop:[b]a/b[/b]"]))
    assert "'gumloop:[b]a/b[/b]'" in refused
    echoed = runner.invoke(app, ["run", "databar:flow/echo", "-i", "domain=:rocket: [i]x[/i]"])
    assert echoed.exit_code == 0, echoed.output
    assert json.loads(echoed.stdout.splitlines()[-1])["inputs"] == {"domain": ":rocket: [i]x[/i]"}


def test_piped_output_is_never_wrapped(served_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped output is never wrapped, whatever COLUMNS says."""
    long_domain = "a-very-long-subdomain-name." * 8 + "example.com"
    result = run_flowdeck(
        ["run", "databar:flow/" + "w" * 100, "-i", f"domain={long_domain}", "--json"], served_mocks.env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1  # one JSON object, one line, however long
    assert json.loads(result.stdout)["outputs"]["inputs"]["domain"] == long_domain
    monkeypatch.setenv("COLUMNS", "40")  # what a pipe's reader might have set: still no wrapping
    for key, value in served_mocks.env.items():
        monkeypatch.setenv(key, value)
    human = runner.invoke(app, ["run", "databar:flow/" + "w" * 100, "-i", f"domain={long_domain}"])
    (outputs,) = human.stdout.splitlines()  # the outputs alone on stdout; the run's line on stderr
    first = human.stderr.splitlines()[0]
    assert first.startswith("databar:flow/" + "w" * 100 + " run ") and json.loads(outputs)["inputs"]


def test_clients_closed(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every client the command line opens is closed."""
    opened: list[flowdeck.Client] = []
    closed: list[flowdeck.Client] = []

    class Tracked(flowdeck.Client):
        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            opened.append(self)

        def close(self) -> None:
            closed.append(self)
            super().close()

    for module in (run, status, inputs, batch):  # each command module that opens a client
        monkeypatch.setattr(module, "Client", Tracked)
    csv = tmp_path / "in.csv"
    csv.write_text("topic\nx\n")
    for args in (
        ["run", "gumloop:closed", "-i", "topic=x"],
        ["status", "gumloop", "no-such-run"],
        ["batch", "gumloop:closed", str(csv), "--out", str(tmp_path / "o.jsonl")],
    ):
        runner.invoke(app, args)
    assert len(opened) == 3 and closed == opened


# --- Ctrl-C and timeouts --------------------------------------------------------------------------


def test_run_timeout_hint(slow_mocks: MockProviders) -> None:
    """A run past --timeout names the run and how to follow it."""
    result = run_flowdeck(["run", "databar:flow/slow", "-i", "domain=x", "--timeout", "0.3"], slow_mocks.env)
    assert result.returncode == 1
    (run_id,) = slow_mocks.states["databar"].runs
    assert result.stderr.strip().splitlines() == [
        f"error: run {run_id} still RUNNING after --timeout 0.3s; it goes on at databar: "
        f"follow it with `flowdeck status databar {run_id}`"
    ]


# --- doctor (rebuilt by the provider registry work; kept green here) ------------------------------


def test_environment_untouched(mock_env: dict[str, str]) -> None:
    """The command line leaves os.environ as it found it."""
    before = dict(os.environ)
    runner.invoke(app, ["run", "databar:flow/env", "-i", "domain=x"])
    assert dict(os.environ) == before


def test_stackai_no_wait(mock_env: dict[str, str]) -> None:
    """StackAI's --no-wait prints no command to follow a run that has ended."""
    result = runner.invoke(app, ["run", "stackai:acme/bot", "-i", "in-0=x", "--no-wait"])
    assert result.exit_code == 0, result.output
    assert "flowdeck status" not in result.stderr


def test_status_exit_code(mock_env: dict[str, str]) -> None:
    """status exits 1 for a run that ended badly and 0 for one that succeeded."""
    started = runner.invoke(app, ["run", "databar:flow/x-status-failed", "-i", "domain=x", "--no-wait", "--json"])
    run_id = json.loads(started.stdout)["run_id"]
    assert runner.invoke(app, ["status", "databar", run_id]).exit_code == 1
    done = runner.invoke(app, ["run", "databar:flow/ok", "-i", "domain=x", "--json"])
    assert runner.invoke(app, ["status", "databar", json.loads(done.stdout)["run_id"]]).exit_code == 0


@pytest.mark.parametrize("provider", ENDED)
def test_cancel_ended_run_exits_1(provider: str, mock_env: dict[str, str]) -> None:
    """Cancelling a run that had ended says how it ended and exits 1."""
    # Databar answers 409 and Gumloop's kill succeeds; either way nothing was stopped, so `cancel && ...`
    # must not carry on, and the line says how the run ended.
    run_id = _finished(provider)
    line = one_line_error(runner.invoke(app, ["cancel", provider, run_id]), code=1)
    assert (
        line
        == f"error: {provider} run {run_id} had already ended (SUCCEEDED, {_word(provider)}); nothing was cancelled"
    )
    as_json = runner.invoke(app, ["cancel", provider, run_id, "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["status"] == "SUCCEEDED"  # the run, for jq


@pytest.mark.parametrize("provider", ENDED)
def test_cancel_races_the_end(provider: str, mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that ends just before its cancel lands is said to have ended."""
    # The look before the cancel still saw the run going; by the time the cancel arrived it had ended
    # (Databar: 409; Gumloop: the kill succeeds on an ended run).
    ref, key = ENDED[provider]
    with Client() as client:
        started = client.start(ref, {key: "x"})
        client.wait(started, timeout=30)
    looks: list[Run] = []
    real_refresh = Client.refresh

    def stale_first_look(self: Client, run: Run) -> Run:
        looks.append(run)
        return started if len(looks) == 1 else real_refresh(self, run)

    monkeypatch.setattr(Client, "refresh", stale_first_look)
    line = one_line_error(runner.invoke(app, ["cancel", provider, started.id]), code=1)
    assert f"had already ended (SUCCEEDED, {_word(provider)}); nothing was cancelled" in line


def test_cancel_running_exits_0(slow_mocks_env: dict[str, str]) -> None:
    """Cancelling a running run exits 0 with the run CANCELLED."""
    started = runner.invoke(app, ["run", "gumloop:long", "-i", "topic=x", "--no-wait", "--json"])
    run_id = json.loads(started.stdout)["run_id"]
    cancelled = runner.invoke(app, ["cancel", "gumloop", run_id, "--json"])
    assert cancelled.exit_code == 0, cancelled.output
    assert json.loads(cancelled.stdout)["status"] == "CANCELLED"


@pytest.mark.parametrize("provider", ["stackai", "superai"])
def test_cancel_unsupported(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancel on a provider without one is a usage error before any credential is asked."""
    for variable in [v for v in os.environ if v.startswith(provider.upper() + "_")]:
        monkeypatch.delenv(variable)
    # A usage error (exit 2), as a command the provider cannot do; 1 would read as a run that did not stop.
    line = one_line_error(runner.invoke(app, ["cancel", provider, "abc"]), code=2)
    assert f"error: {provider} does not support cancelling runs: " in line
    assert line.endswith("(flowdeck cancel works for databar and gumloop)"), line


@pytest.mark.parametrize("second", ["domain=b.com", 'domain:="b.com"', "domain:=3"])
def test_run_input_twice(second: str, mock_env: dict[str, str]) -> None:
    """run given one input twice with different values is a usage error naming both."""
    result = runner.invoke(app, ["run", "databar:flow/twice", "-i", "domain=a.com", "-i", second])
    assert (
        one_line_error(result) == f"error: -i: input 'domain' given twice ('domain=a.com' and {second!r}); give it once"
    )


def test_run_input_twice_alike_ok(mock_env: dict[str, str], tmp_path: Path) -> None:
    """run given one input twice alike, or -i over --inputs, runs."""
    inputs = tmp_path / "in.json"
    inputs.write_text('{"domain": "file.com", "note": "x"}', encoding="utf-8")
    alike = runner.invoke(app, ["run", "databar:flow/alike", "-i", "domain=a.com", "-i", "domain=a.com", "--json"])
    assert alike.exit_code == 0, alike.output
    layered = runner.invoke(app, ["run", "databar:flow/layer", "--inputs", str(inputs), "-i", "domain=a.com", "--json"])
    assert layered.exit_code == 0, layered.output  # -i sets a key of --inputs: one value each, as documented
    assert json.loads(layered.stdout)["outputs"]["inputs"] == {"domain": "a.com", "note": "x"}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["run", "databar:flow/x", "-i", "domain=a"], 1),  # nothing listens at the base URL
        (["run", "databar:flow/x", "-i", "domain"], 2),  # a usage error
        (["run", "nope:x"], 2),
        (["status", "gumloop", "no-such-run"], 1),
        (["cancel", "superai", "abc"], 2),
        (["run", "databar:flow/x", "--timeout", "0"], 2),
        (["status", "gumloop", "r1", "--bogus"], 2),
    ],
    ids=[
        "run-unreachable",
        "run-usage",
        "run-bad-ref",
        "status-unknown-run",
        "cancel-unsupported",
        "run-bad-option",
        "status-unknown-option",
    ],
)
def test_json_failure_is_one_object(
    args: list[str], code: int, mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --json command that fails still prints one JSON object with the error."""
    monkeypatch.setenv("DATABAR_BASE_URL", f"http://127.0.0.1:{closed_port()}")
    result = runner.invoke(app, [*args, "--json"])
    line = one_line_error(result, code=code)
    (printed,) = result.stdout.splitlines()  # `| jq` reads one object, never empty input
    assert json.loads(printed) | {"error": line.removeprefix("error: "), "exit_code": code} == json.loads(printed)


@pytest.mark.parametrize("ref", ["gumloop:piped", "stackai:acme/piped"])
def test_run_stdout_is_outputs(ref: str, mock_env: dict[str, str]) -> None:
    """run prints only the outputs on stdout, the status on stderr."""
    key = "topic" if ref.startswith("gumloop") else "in-0"
    done = runner.invoke(app, ["run", ref, "-i", f"{key}=x"])
    assert done.exit_code == 0, done.output
    (line,) = done.stdout.splitlines()
    assert isinstance(json.loads(line), dict)  # `flowdeck run ... | jq` reads the outputs alone
    assert f"{ref} run " in done.stderr and ": SUCCEEDED" in done.stderr


def test_bad_ref_json_names_it(mock_env: dict[str, str]) -> None:
    """run --json with a reference that cannot parse names it in the error object."""
    result = runner.invoke(app, ["run", "databarr:flow/x", "--json"])
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["workflow"] == "databarr:flow/x"


def test_run_misspelt_provider(mock_env: dict[str, str]) -> None:
    """`run databarr:flow/x` is answered with the reference meant, as `status databarr` is."""
    line = one_line_error(runner.invoke(app, ["run", "databarr:flow/x", "-i", "domain=a"]))
    assert line.endswith("(did you mean 'databar:flow/x'?)"), line


def test_status_misspelt_provider(mock_env: dict[str, str]) -> None:
    """`status gumlop ...` is answered with the name meant, as `flowdeck rn` is."""
    line = one_line_error(runner.invoke(app, ["status", "gumlop", "run-1"]))
    assert line.startswith("error: unknown provider 'gumlop' (did you mean 'gumloop'?); expected one of databar")


def test_status_wants_provider_name(mock_env: dict[str, str]) -> None:
    """`status gumloop:long <id>` says a provider name goes there, and shows the command."""
    line = one_line_error(runner.invoke(app, ["status", "gumloop:long", "run-1"]))
    assert "give a provider's name alone" in line and "not a workflow reference" in line
    assert line.endswith("like: flowdeck status gumloop RUN_ID"), line
    assert "unknown provider" not in line
