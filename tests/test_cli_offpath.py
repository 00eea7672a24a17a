"""Interrupts, cancels and failures a run or batch meets: Ctrl-C while starting or waiting, signals to
the mocks, cancelling an ended run, an input given twice, unreachable hosts and refused credentials,
UTF-16 without a BOM, short keys, and --json on failure. Each drives the real command.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowdeck
import pytest
from flowdeck import Client, Run
from flowdeck._cli import app
from flowdeck._client import AsyncClient
from flowdeck._secrets import scrub
from flowdeck.testing import Faults, MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import (
    FLOWDECK,
    bash,
    env_with,
    jsonl,
    one_line_error,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    results,
    spawn,
)

runner = CliRunner()
UUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

# --- Ctrl-C while the command is still importing ----------------------------------------------------

# Loaded by the interpreter at start-up (site imports sitecustomize from PYTHONPATH): sends the process
# SIGINT at the moment the named module starts to load, as a Ctrl-C in that fraction of a second would.
SIGINT_AT = textwrap.dedent(
    """
    import os, signal, sys

    class _CtrlC:
        def find_spec(self, name, path, target=None):
            if name == os.environ["FLOWDECK_TEST_SIGINT_AT"]:
                os.kill(os.getpid(), signal.SIGINT)
            return None

    sys.meta_path.insert(0, _CtrlC())
    """
)


def _interrupted_at(module: str, argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(SIGINT_AT)
    env = env_with({"PYTHONPATH": str(tmp_path), "FLOWDECK_TEST_SIGINT_AT": module})
    return subprocess.run(  # noqa: S603 - our own command and interpreter
        argv, env=env, capture_output=True, text=True, timeout=60, check=False
    )


COMMANDS = {"console script": [FLOWDECK, "doctor"], "python -m": [sys.executable, "-m", "flowdeck", "doctor"]}


@pytest.mark.parametrize("how", COMMANDS)
@pytest.mark.parametrize(
    "module",
    [
        "flowdeck._client",  # inside `import flowdeck`, before any of the command's own code has run
        "flowdeck._cli",  # the command line's modules (typer, rich)
    ],
)
def test_ctrl_c_during_imports(how: str, module: str, tmp_path: Path) -> None:
    """Ctrl-C while the command imports is one line, exit 130, nothing on stdout."""
    done = _interrupted_at(module, COMMANDS[how], tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "flowdeck: interrupted while starting up; nothing was sent\n"
    assert done.stdout == ""


def test_importer_keeps_its_ctrl_c(tmp_path: Path) -> None:
    """A program importing flowdeck keeps its own Ctrl-C handling."""
    # Only the flowdeck command changes what Ctrl-C does while it starts: a program's import raises
    # KeyboardInterrupt, for the program to handle.
    script = "try:\n    import flowdeck\nexcept KeyboardInterrupt:\n    print('mine')\n"
    done = _interrupted_at("flowdeck._client", [sys.executable, "-c", script], tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "mine\n", "")
    after = _interrupted_at("nothing", [sys.executable, "-c", "import flowdeck, signal; print(signal.getsignal(2))"],
                            tmp_path)  # fmt: skip
    assert after.stdout.strip() == str(signal.default_int_handler), after.stderr


# --- flowdeck mock stopped by a signal ------------------------------------------------------------


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_mock_signal_exit_code(signum: signal.Signals, code: int) -> None:
    """flowdeck mock stopped by SIGINT or SIGTERM exits 128 plus the signal's number."""
    # 0 would tell a script or supervisor that the mocks ended by themselves; the batch's codes say which
    # signal stopped them (128 + its number).
    proc = spawn(["mock", "--seed", "1"], {})
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("export "), "the mocks are serving"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert stderr.endswith("flowdeck mock: stopping\n") and "Traceback" not in stderr


# --- cancelling a run that had already ended ------------------------------------------------------

ENDED = {"databar": ("databar:flow/ended", "domain"), "gumloop": ("gumloop:ended", "topic")}


def _finished(provider: str) -> str:
    ref, key = ENDED[provider]
    done = runner.invoke(app, ["run", ref, "-i", f"{key}=x", "--json"])
    assert done.exit_code == 0, done.output
    return str(json.loads(done.stdout)["run_id"])


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


def _word(provider: str) -> str:
    return {"databar": "completed", "gumloop": "DONE"}[provider]


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


@pytest.fixture
def slow_mocks_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Mock providers whose runs take 20 s: still going when a test cancels them."""
    with MockProviders(MockConfig(seed=5, run_seconds=(20.0, 20.0))) as mocks:
        for key, value in mocks.env.items():
            monkeypatch.setenv(key, value)
        yield mocks.env


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


# --- an input given twice -------------------------------------------------------------------------


def _leads(tmp_path: Path) -> Path:
    source = tmp_path / "leads.csv"
    source.write_text("Company Domain,Domain,domain\nstripe.com,a.com,b.com\n", encoding="utf-8")
    return source


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        (
            ["Company Domain=domain", "Domain=domain"],
            "error: --map: input 'domain' given twice (from columns 'Company Domain' and 'Domain'); "
            "map one column to it",
        ),
        (
            ["Domain=site", "Domain=url"],
            "error: --map: column 'Domain' given twice (Domain=site and Domain=url); map it once",
        ),
        (
            ["Domain=domain"],  # the file has a 'domain' column of its own
            "input 'domain' given twice: by --map 'Domain=domain' and by the column 'domain'",
        ),
    ],
)
def test_batch_input_twice(maps: list[str], message: str, mock_env: dict[str, str], tmp_path: Path) -> None:
    """A batch given one input twice is a usage error naming both sources."""
    out = tmp_path / "out.jsonl"
    args = ["batch", "databar:flow/enrich", str(_leads(tmp_path)), "--out", str(out)]
    for item in maps:
        args += ["--map", item]
    assert message in one_line_error(runner.invoke(app, args))
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["leads.csv"]


def test_batch_same_map_twice_ok(mock_env: dict[str, str], tmp_path: Path) -> None:
    """The same --map twice, or a swap of columns, runs."""
    out = tmp_path / "out.jsonl"
    args = ["batch", "databar:flow/enrich", str(_leads(tmp_path)), "--out", str(out), "--check"]
    same = runner.invoke(app, [*args, "--map", "Company Domain=site", "--map", "Company Domain=site"])
    assert same.exit_code == 0, same.output
    swap = runner.invoke(app, [*args, "--map", "Domain=domain", "--map", "domain=old_domain"])  # each input once
    assert swap.exit_code == 0, swap.output


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


# --- batch --check on a read-only --out folder ------------------------------------------------------


def _in_read_only(folder: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``flowdeck <args>`` with ``folder`` read-only to it: a read-only bind mount of it when root (whom
    permissions do not stop), else the folder's own permissions."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run([FLOWDECK, *args], env=env_with(env), capture_output=True, text=True, timeout=60)  # noqa: S603
        finally:
            folder.chmod(0o755)
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: no way to make a folder read-only to this process")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    command = ["unshare", "-rm", "sh", "-c", script, "sh", str(folder), FLOWDECK, *args]
    done = subprocess.run(command, env=env_with(env), capture_output=True, text=True, timeout=60)  # noqa: S603
    if "mount" in done.stderr or "unshare" in done.stderr:
        pytest.skip(f"no read-only bind mount here: {done.stderr.strip()}")
    return done


def test_check_read_only_folder(mock_env: dict[str, str], tmp_path: Path) -> None:
    """batch --check runs in a read-only folder and warns the batch cannot write there."""
    # A check only reads: inputs, journal, credits. The batch it checks will need to write there.
    folder = tmp_path / "shared"
    folder.mkdir()
    source = folder / "leads.csv"
    source.write_text("domain\nstripe.com\n", encoding="utf-8")
    out = folder / "results.jsonl"
    check = _in_read_only(
        folder, ["batch", "databar:flow/enrich", str(source), "--out", str(out), "--check", "--json"], mock_env
    )
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    assert report["ready"] is True and report["journal"]["to_start"] == 1
    assert report["warnings"] == [
        f"--out {out}: {folder} is not writable here; the batch itself (without --check) writes results.jsonl "
        "and will refuse to start until it can"
    ]
    batch = _in_read_only(folder, ["batch", "databar:flow/enrich", str(source), "--out", str(out)], mock_env)
    assert batch.returncode == 2 and batch.stderr.startswith(f"error: --out {out}: cannot write "), batch.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["leads.csv"]


def test_check_out_name_too_long(mock_env: dict[str, str], tmp_path: Path) -> None:
    """batch --check refuses an --out whose state file name is too long."""
    # No file of that name can exist anywhere: a usage error for the check as for the batch, not a traceback.
    source = tmp_path / "in.csv"
    source.write_text("topic\na\n")
    too_long = tmp_path / ("r" * 240 + ".jsonl")  # its state file's name passes the 255-byte limit
    check = runner.invoke(app, ["batch", "gumloop:out", str(source), "--out", str(too_long), "--check"])
    assert one_line_error(check) == (
        f"error: --out {too_long}: {too_long.name}.flowdeck-state.jsonl is too long a file name; choose a shorter --out"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


# --- UTF-16 without a byte order mark -------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("name", ["leads.csv", "leads.jsonl"])
def test_utf16_without_bom(codec: str, name: str, mock_env: dict[str, str], tmp_path: Path) -> None:
    """UTF-16 without a BOM is named, and the --encoding advised reads it."""
    # Not "binary": what it is, and the --encoding that reads it (pasted as printed, it works).
    source = tmp_path / name
    text = "domain\nzürich.ch\n" if name.endswith(".csv") else '{"domain": "zürich.ch"}\n'
    source.write_bytes(text.encode(codec))
    args = ["batch", "databar:flow/enrich", str(source), "--out", str(tmp_path / "out.jsonl"), "--check"]
    line = one_line_error(runner.invoke(app, args))
    assert line == (
        f"error: {source}: is a UTF-16 file without a byte order mark, not utf-8; pass --encoding {codec} "
        "or save it as UTF-8"
    )
    advised = runner.invoke(app, [*args, "--encoding", codec])
    assert advised.exit_code == 0, advised.output
    assert "1 row;" in advised.stdout


def test_utf16_inputs_json(mock_env: dict[str, str], tmp_path: Path) -> None:
    """An --inputs JSON file in UTF-16 without a BOM is named as such."""
    inputs = tmp_path / "in.json"
    inputs.write_bytes('{"domain": "a.com"}'.encode("utf-16-le"))
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(inputs)]))
    assert (
        line
        == f"error: --inputs {inputs}: is a UTF-16 file without a byte order mark, not utf-8; a JSON file must be UTF-8"
    )


def test_binary_file_names_utf16(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A binary input file is called binary, and the UTF-16 options are named."""
    source = tmp_path / "in.csv"
    source.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01")
    line = one_line_error(runner.invoke(app, ["batch", "gumloop:x", str(source), "--out", str(tmp_path / "o.jsonl")]))
    assert line == (
        f"error: {source}: is a binary file (it holds NUL bytes), expected utf-8 text; if it is UTF-16 text without "
        "a byte order mark, pass --encoding utf-16-le (or utf-16-be)"
    )


# --- a key too short to be one --------------------------------------------------------------------


def test_one_char_key_readable(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-character key is not scrubbed from inside the words of an error."""
    # A key `a` scrubbed from inside words would leave "d********t********b********r": nothing to read,
    # and no safer (the key is one letter). The line reads as written.
    monkeypatch.setenv("DATABAR_API_KEY", "a")
    line = one_line_error(runner.invoke(app, ["status", "databar", "abc"]), code=1)
    assert line.startswith("error: databar get_task: HTTP 403: "), line
    assert "********" not in line


@pytest.mark.parametrize("key", ["a", "ab", "k3y"])
def test_short_key_scrubbed(key: str) -> None:
    """A short key standing alone in an answer is still scrubbed."""
    # What a provider echoes as a token ("invalid key a") is replaced whatever its length.
    text = f'invalid key {key}; got "{key}" in {{"apikey": "{key}"}} for databar'
    out = scrub(text, [key])
    assert out == 'invalid key ********; got "********" in {"apikey": "********"} for databar'


# --- the batch summary: started, unknown, refused and not started apart ---------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_batch_summary_counts(
    served_mocks: MockProviders, mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The batch summary counts each kind of row apart, and runs as the provider saw them."""
    # Three Databar rows run as one bulk task: the summary counts runs as the mocks see them, and keeps
    # refused and maybe-started rows apart from those not started.
    inputs = jsonl(tmp_path / "in.jsonl", [
        *({"workflow": "databar:flow/summary", "domain": f"d{i}.com"} for i in range(3)),
        {"workflow": f"superai:{UUID}", "file_key": "ok.pdf"},
        {"workflow": "superai:00000000-0000-4000-8000-000000000404", "file_key": "x.pdf"},  # refused: REJECTED
        {"workflow": "stackai:acme/cut", "in-0": "x"},  # the answer is cut short: UNKNOWN
        {"workflow": "gumloop:unreachable", "topic": "x"},  # nothing listens: NOT_STARTED
    ])  # fmt: skip
    monkeypatch.setenv("GUMLOOP_BASE_URL", f"http://127.0.0.1:{_closed_port()}/api/v1")
    before = served_mocks.start_count
    with MockProviders(MockConfig(seed=4, faults=Faults(rate=1.0, kinds=("drop_after",)))) as cutting:
        monkeypatch.setenv("STACKAI_BASE_URL", cutting.env["STACKAI_BASE_URL"])
        args = ["batch", "column:workflow", str(inputs), "--out", str(tmp_path / "out.jsonl")]
        done = runner.invoke(app, args)
        as_json = runner.invoke(app, [*args[:-1], str(tmp_path / "again.jsonl"), "--json"])
    assert done.exit_code == 1, done.output
    first = done.stdout.splitlines()[0]
    assert first.endswith(
        ": 4 started now as 2 runs (a bulk task runs many rows), 1 unknown whether started (UNKNOWN), "
        "1 refused at start (REJECTED), 1 not started"
    ), first
    summary = json.loads(as_json.stdout)
    assert {k: summary[k] for k in ("started_now", "runs_started", "unknown", "rejected", "not_started")} == {
        "started_now": 4, "runs_started": 2, "unknown": 1, "rejected": 1, "not_started": 1
    }  # fmt: skip
    assert served_mocks.start_count - before == 2 * 2  # two runs a batch, as the summary says


# --- a wrong key: one refusal, not one per row ------------------------------------------------------


def test_refused_key_stops_provider(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A refused key stops that provider's starts; the printed step resumes the rest."""
    inputs = jsonl(tmp_path / "in.jsonl", [
        *({"workflow": "gumloop:keyed", "topic": f"t{i}"} for i in range(30)),
        {"workflow": "stackai:acme/fine", "in-0": "x"},  # another provider's credential is not in question
    ])  # fmt: skip
    out = tmp_path / "out.jsonl"
    sent: list[str] = []
    real_start = AsyncClient.start

    async def counted(self: AsyncClient, ref: Any, inputs: Any, **kwargs: Any) -> Run:
        sent.append(str(ref))
        return await real_start(self, ref, inputs, **kwargs)

    monkeypatch.setattr(AsyncClient, "start", counted)
    monkeypatch.setenv("GUMLOOP_API_KEY", "wrong-key")
    done = runner.invoke(app, ["batch", "column:workflow", str(inputs), "--out", str(out)])
    assert done.exit_code == 1, done.output
    assert sent.count("gumloop:keyed") == 1 and sent.count("stackai:acme/fine") == 1  # not 30 x 401
    statuses = [r["status"] for r in results(out)]
    assert statuses == ["REJECTED", *["NOT_STARTED"] * 29, "SUCCEEDED"]
    assert done.stderr.strip().splitlines()[-1] == (
        "error: gumloop refused the credential (HTTP 401) at row 1, so its other 29 rows were not sent; "
        "check GUMLOOP_API_KEY / GUMLOOP_USER_ID"
    )
    state = [json.loads(line) for line in (tmp_path / "out.jsonl.flowdeck-state.jsonl").read_text().splitlines()]
    assert [e["row"] for e in state if e.get("event") == "intent"] == [1, 31]  # the held-back rows: never sent

    # The key fixed, the printed step pasted: every gumloop row runs, none twice.
    monkeypatch.setenv("GUMLOOP_API_KEY", mock_env["GUMLOOP_API_KEY"])
    steps = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("next:")]
    step, pointer = steps  # the refused row's command, which the held-back rows' step points at
    assert pointer == "next: the command above starts these rows too"
    command = shlex.split(step.rpartition("then run: ")[2])
    assert command[-1] == "--retry-rejected"
    again = runner.invoke(app, command[command.index("batch") :])
    assert again.exit_code == 0, again.output
    assert [r["status"] for r in results(out)] == ["SUCCEEDED"] * 31
    assert sent.count("gumloop:keyed") == 1 + 30 and sent.count("stackai:acme/fine") == 1


def test_refused_key_stops_bulk(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A refused key stops the other bulk tasks of the batch too."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"domain": f"d{i}.com"} for i in range(6)])
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("DATABAR_API_KEY", "wrong-key")
    done = runner.invoke(app, ["batch", "databar:flow/keyed", str(inputs), "--out", str(out), "--bulk", "2"])
    assert done.exit_code == 1, done.output
    by_status: dict[str, list[int]] = {}
    for record in results(out):
        by_status.setdefault(record["status"], []).append(record["row"])
    assert len(by_status["REJECTED"]) == 2 and len(by_status["NOT_STARTED"]) == 4, by_status  # one task sent
    assert "databar refused the credential (HTTP 403)" in done.stderr and "check DATABAR_API_KEY" in done.stderr


# --- the step printed after a TIMEOUT ---------------------------------------------------------------


def test_timeout_next_step(tmp_path: Path) -> None:
    """The step printed after a timeout waits longer, and pasted it succeeds."""
    # Repeating --timeout 0.2 would time out again: the printed command must be able to succeed.
    with MockProviders(MockConfig(seed=6, run_seconds=(1.0, 1.0))) as mocks:
        inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(3)])
        out = tmp_path / "out.jsonl"
        first = bash(f"flowdeck batch gumloop:slow {inputs} --out {out} --timeout 0.2 --json", mocks.env)
        assert first.returncode == 1, first.stderr
        (group,) = json.loads(first.stdout)["failures"]
        assert group["status"] == "TIMEOUT"
        step = group["next"].split(" run: ", 1)[1].split(" (or add", 1)[0]
        assert "--timeout" not in shlex.split(step), step
        pasted = bash(step, mocks.env)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert [r["status"] for r in results(out)] == ["SUCCEEDED"] * 3


# --- a wrong base URL: the host, the port, and the variable that set them -------------------------


def test_refused_connection(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection names the host, port and the variable that set them."""
    port = _closed_port()
    monkeypatch.setenv("DATABAR_BASE_URL", f"http://127.0.0.1:{port}")
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/x", "-i", "domain=a"]), code=1)
    assert line == (
        f"error: databar: cannot connect to 127.0.0.1:{port} (connection refused), set by "
        f"DATABAR_BASE_URL=http://127.0.0.1:{port}: check it (flowdeck doctor --network tries it); "
        "nothing was sent, so no run was started"
    )
    line = one_line_error(runner.invoke(app, ["status", "databar", "abc"]), code=1)
    assert f"cannot connect to 127.0.0.1:{port} (connection refused), set by DATABAR_BASE_URL=" in line


def test_superai_login_url_named(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SuperAI's login URL is named when it is the one that cannot connect."""
    port = _closed_port()
    monkeypatch.setenv("SUPERAI_AUTH_URL", f"http://127.0.0.1:{port}/api")
    line = one_line_error(runner.invoke(app, ["run", f"superai:{UUID}", "-i", "file_key=x"]), code=1)
    assert line.startswith(
        f"error: superai: cannot connect to 127.0.0.1:{port} (connection refused), set by SUPERAI_AUTH_URL="
    ), line
    assert "ConnectError" not in line and "Errno" not in line


def test_no_such_host_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that does not resolve is said in words, on either HTTP stack."""
    # No lookup is made (loopback only): the error is what the HTTP library raises for a name that does
    # not resolve, on either of flowdeck's HTTP stacks.
    import httpx
    from flowdeck._cli.explain import explain
    from flowdeck._errors import TransportError

    monkeypatch.delenv("GUMLOOP_BASE_URL", raising=False)
    for text in ("[Errno -2] Name or service not known", "Cannot connect to host x:443 ssl:default [nodename nor "
                 "servname provided, or not known]"):  # fmt: skip
        try:
            raise TransportError("ConnectError: ...", provider="gumloop", operation="get_pl_run") from (
                httpx.ConnectError(text)
            )
        except TransportError as exc:
            assert explain(exc) == (
                "gumloop: cannot connect to api.gumloop.com:443 (no such host), Gumloop's own URL "
                "(GUMLOOP_BASE_URL is not set): check the network (flowdeck doctor --network tries it); "
                "nothing was sent"
            )


def test_batch_unreachable_next_step(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A batch that cannot connect names the base URL variable in its next step."""
    port = _closed_port()
    monkeypatch.setenv("GUMLOOP_BASE_URL", f"http://127.0.0.1:{port}/api/v1")
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": "a"}])
    done = runner.invoke(app, ["batch", "gumloop:x", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--json"])
    (group,) = json.loads(done.stdout)["failures"]
    assert group["next"].startswith(
        f"gumloop could not be reached at 127.0.0.1:{port}, set by GUMLOOP_BASE_URL=http://127.0.0.1:{port}/api/v1: "
        "check it"
    ), group["next"]


# --- a wrong SuperAI password: its login answers 400, and it is a credential all the same ----------


def test_wrong_superai_password(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A wrong SuperAI password names the login variables, in a run and a batch."""
    monkeypatch.setenv("SUPERAI_PASSWORD", "wrong-password")
    line = one_line_error(runner.invoke(app, ["run", f"superai:{UUID}", "-i", "file_key=x"]), code=1)
    assert line == (
        "error: superai get_token: HTTP 400: Invalid login credentials; check SUPERAI_EMAIL / SUPERAI_PASSWORD "
        "(flowdeck doctor --verify asks the provider)"
    )
    assert "wrong-password" not in line

    # In a batch: one login refused, the other rows not sent, and the next step is the credential's.
    inputs = jsonl(tmp_path / "in.jsonl", [{"file_key": f"{i}.pdf"} for i in range(4)])
    done = runner.invoke(app, ["batch", f"superai:{UUID}", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--json"])
    assert [r["status"] for r in results(tmp_path / "o.jsonl")] == ["REJECTED", *["NOT_STARTED"] * 3]
    steps = {group["next"].split(", then run: ")[0] for group in json.loads(done.stdout)["failures"]}
    assert steps == {"check SUPERAI_EMAIL / SUPERAI_PASSWORD"}


# --- column:<name> where the file has no such column --------------------------------------------------


def test_missing_workflow_column(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A missing or empty workflow column is named with the columns the file has."""
    source = tmp_path / "leads.csv"
    source.write_text("domain,name\nstripe.com,Stripe\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    line = one_line_error(runner.invoke(app, ["batch", "column:workflow", str(source), "--out", str(out)]))
    assert line == (
        f"error: {source} row 2: no column 'workflow' to take each row's workflow from (column:workflow); "
        "the columns are 'domain', 'name'"
    )
    assert not out.exists()
    source.write_text("workflow,domain\n,stripe.com\n", encoding="utf-8")  # there, but empty
    line = one_line_error(runner.invoke(app, ["batch", "column:workflow", str(source), "--out", str(out)]))
    assert line.endswith("row 2: column 'workflow' must name a workflow, like <provider>:<id>; it holds \"\""), line


# --- run --json: always one JSON object for jq ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["run", "databar:flow/x", "-i", "domain=a"], 1),  # nothing listens at the base URL
        (["run", "databar:flow/x", "-i", "domain"], 2),  # a usage error
        (["run", "nope:x"], 2),
        (["status", "gumloop", "no-such-run"], 1),
        (["cancel", "superai", "abc"], 2),
    ],
    ids=["run-unreachable", "run-usage", "run-bad-ref", "status-unknown-run", "cancel-unsupported"],
)
def test_json_failure_is_one_object(
    args: list[str], code: int, mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --json command that fails still prints one JSON object with the error."""
    monkeypatch.setenv("DATABAR_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    result = runner.invoke(app, [*args, "--json"])
    line = one_line_error(result, code=code)
    (printed,) = result.stdout.splitlines()  # `| jq` reads one object, never empty input
    assert json.loads(printed) | {"error": line.removeprefix("error: "), "exit_code": code} == json.loads(printed)


def test_ctrl_c_waiting_json(slow_mocks_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while waiting prints the last polled state as JSON."""
    real_wait = Client.wait

    def ctrl_c_after_a_poll(self: Client, run: Run, **kwargs: Any) -> Run:
        try:
            real_wait(self, run, timeout=1.5, raise_on_failure=False)  # Gumloop: STARTED, then RUNNING
        except flowdeck.WaitTimeout:
            raise KeyboardInterrupt from None
        raise AssertionError("the 20 s run ended")

    monkeypatch.setattr(Client, "wait", ctrl_c_after_a_poll)
    result = runner.invoke(app, ["run", "gumloop:long", "-i", "topic=x", "--json"])
    assert result.exit_code == 130, result.output
    printed = json.loads(result.stdout)
    assert (printed["status"], printed["provider_status"], printed["interrupted"]) == ("RUNNING", "RUNNING", True)
    assert "(RUNNING) goes on at gumloop" in result.stderr


def test_ctrl_c_starting_json(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while starting prints a JSON object too, exit 130."""

    def interrupted(self: Client, *args: Any, **kwargs: Any) -> Run:
        raise KeyboardInterrupt

    monkeypatch.setattr(Client, "start", interrupted)
    result = runner.invoke(app, ["run", "gumloop:x", "-i", "topic=x", "--json"])
    assert result.exit_code == 130
    printed = json.loads(result.stdout)
    assert printed["interrupted"] is True and printed["workflow"] == "gumloop:x"
    assert printed["error"].startswith("interrupted while starting gumloop:x")


# --- numbers: infinite, per minute, a quota of nothing ----------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "gumloop:x", "--timeout", "inf"], "'--timeout': inf must be a finite number of seconds"),
        (["run", "gumloop:x", "--timeout", "nan"], "'--timeout': nan must be a finite number of seconds"),
        (["run", "gumloop:x", "--timeout", "0"], "'--timeout': 0 must be more than 0 seconds"),
        (["batch", "gumloop:x", "IN", "--out", "OUT", "--rate", "inf/s"], "--rate 'inf/s': must be a finite number"),
        (["batch", "gumloop:x", "IN", "--out", "OUT", "--rate", "5/d"], "like 10/s, 300/m or 1000/h"),
    ],
)
def test_useless_numbers(args: list[str], message: str, mock_env: dict[str, str], tmp_path: Path) -> None:
    """An infinite, NaN or zero timeout or rate is refused, saying what is wrong."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": "a"}])
    args = [str(inputs) if a == "IN" else str(tmp_path / "o.jsonl") if a == "OUT" else a for a in args]
    assert message in one_line_error(runner.invoke(app, args))


def test_rate_per_minute_is_per_minute(mock_env: dict[str, str], tmp_path: Path) -> None:
    """--rate reads per second, minute and hour alike."""
    from flowdeck._cli.batch_options import parse_rate

    assert (parse_rate("120/m"), parse_rate("7200/h"), parse_rate("2/s"), parse_rate("2")) == (2.0, 2.0, 2.0, 2.0)
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(2)])
    done = runner.invoke(
        app, ["batch", "gumloop:x", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--rate", "600/m"]
    )
    assert done.exit_code == 0, done.output


def test_mock_start_quota_zero() -> None:
    """flowdeck mock --start-quota 0 is refused saying why, exit 2."""
    done = subprocess.run(  # noqa: S603 - our own CLI
        [FLOWDECK, "mock", "--start-quota", "0"], env=env_with({}), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert "--start-quota: '0': give the starts per second the mocks accept, more than 0" in done.stderr


# --- run: the outputs on stdout, the rest with the progress on stderr ------------------------------


@pytest.mark.parametrize("ref", ["gumloop:piped", "stackai:acme/piped"])
def test_run_stdout_is_outputs(ref: str, mock_env: dict[str, str]) -> None:
    """run prints only the outputs on stdout, the status on stderr."""
    key = "topic" if ref.startswith("gumloop") else "in-0"
    done = runner.invoke(app, ["run", ref, "-i", f"{key}=x"])
    assert done.exit_code == 0, done.output
    (line,) = done.stdout.splitlines()
    assert isinstance(json.loads(line), dict)  # `flowdeck run ... | jq` reads the outputs alone
    assert f"{ref} run " in done.stderr and ": SUCCEEDED" in done.stderr
