"""Know before you pay: Databar's declared inputs and account as typed values, ``flowdeck inputs``,
``flowdeck batch --check`` and the check before every batch, and ``flowdeck doctor --verify``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import flowdeck
import pytest
from flowdeck import _providers
from flowdeck._cli import app
from flowdeck.testing import MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import (
    FLOWDECK,
    closed_port,
    env_with,
    one_line_error,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
)

runner = CliRunner()
FLOWS = {"f1": {"domain": True, "country": False}}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider variable of the machine running the tests may leak in."""
    for provider in _providers.providers():
        for variable in [s.variable for s in provider.config.settings] + [u.variable for u in provider.config.urls]:
            monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def mocks() -> Iterator[MockProviders]:
    with MockProviders(MockConfig(databar_flows=FLOWS)) as served:
        yield served


def invoke(env: dict[str, str], *args: str) -> Any:
    return runner.invoke(app, list(args), env={**env, "COLUMNS": "200"})


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- client.databar.get_flow / me -----------------------------------------------------------------


def test_flow_and_account_typed(mocks: MockProviders) -> None:
    """get_flow and me return typed values, sync and async."""
    with mocks.client() as client:
        flow = client.databar.get_flow("f1")
        account = client.databar.me()
    assert isinstance(flow, flowdeck.Flow) and flow.id == "f1" and flow.name == "Mock flow f1"
    assert flow.inputs == (
        flowdeck.DeclaredInput("domain", required=True, type="text", description="Input domain"),
        flowdeck.DeclaredInput("country", required=False, type="text", description="Input country"),
    )
    assert flow.required == ("domain",)
    assert isinstance(account, flowdeck.Account)
    assert (account.email, account.plan, account.balance) == ("mock@databar.example", "mock", 1_000_000.0)
    with pytest.raises(flowdeck.NotFoundError), mocks.client() as client:
        client.databar.get_flow("missing-flow")

    async def both() -> tuple[flowdeck.Flow, flowdeck.Account]:
        async with flowdeck.AsyncClient(env=mocks.env) as aclient:
            return await aclient.databar.get_flow("f1"), await aclient.databar.me()

    assert asyncio.run(both()) == (flow, account)
    with pytest.raises(AttributeError):
        flow.name = "changed"  # type: ignore[misc]  # frozen values


class _Extras(BaseHTTPRequestHandler):
    """A Databar that answers with fields beyond the official SDK's models."""

    def do_GET(self) -> None:
        if self.path.startswith("/v1/flows/"):
            body: dict[str, Any] = {
                "id": "f9", "name": "New", "description": "", "folder": {"id": 3}, "tags": ["x"],
                "inputs": [{"id": "email", "description": "", "type": "text", "required": True, "default": None,
                            "validation": {"regex": ".+@.+"}}],
            }  # fmt: skip
        else:
            body = {"email": "a@b.c", "plan": "pro", "balance": 12, "workspace": None, "seats": 4, "limits": {}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_extra_fields_kept_raw() -> None:
    """Unknown extra fields do not crash and stay in raw."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Extras)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {"DATABAR_API_KEY": "k", "DATABAR_BASE_URL": f"http://127.0.0.1:{server.server_port}"}
        with flowdeck.Client(env=env) as client:
            flow = client.databar.get_flow("f9")
            account = client.databar.me()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert flow.inputs == (flowdeck.DeclaredInput("email", required=True, type="text"),)
    assert flow.raw["tags"] == ["x"] and flow.raw["inputs"][0]["validation"] == {"regex": ".+@.+"}
    assert (account.balance, account.workspace, account.raw["seats"]) == (12.0, None, 4)


# --- flowdeck inputs --------------------------------------------------------------------------------


def test_inputs_table_and_json(mocks: MockProviders) -> None:
    """flowdeck inputs prints the declared inputs as a table and as JSON."""
    table = invoke(mocks.env, "inputs", "databar:flow/f1")
    assert table.exit_code == 0, table.output
    assert "databar:flow/f1: Mock flow f1" in table.stdout
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in table.stdout.splitlines() if "Input " in line]
    assert cells == [["domain", "yes", "text", "Input domain"], ["country", "no", "text", "Input country"]]
    as_json = invoke(mocks.env, "inputs", "databar:flow/f1", "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["declared_inputs"] == [
        {"id": "domain", "required": True, "type": "text", "description": "Input domain"},
        {"id": "country", "required": False, "type": "text", "description": "Input country"},
    ]


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("gumloop:weekly-digest", "Gumloop's API publishes no declared inputs"),
        ("stackai:acme/bot", "StackAI's API publishes no declared inputs"),
        ("superai:7c9e6679-7425-40de-944b-e07fc1f90ae7", "SuperAI's API publishes no declared inputs"),
        ("databar:waterfall/email_getter", "Databar publishes declared inputs for flows only"),
    ],
)
def test_inputs_not_published(mocks: MockProviders, ref: str, says: str) -> None:
    """flowdeck inputs where none are published is one line, exit 0."""
    result = invoke(mocks.env, "inputs", ref)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 and result.stdout.startswith(f"{ref}: {says}")
    assert not result.stderr
    as_json = json.loads(invoke(mocks.env, "inputs", ref, "--json").stdout)
    assert as_json["declared_inputs"] is None and says in as_json["note"]


def test_inputs_unknown_flow(mocks: MockProviders) -> None:
    """flowdeck inputs of an unknown flow or a bad reference is one error line."""
    unknown = invoke(mocks.env, "inputs", "databar:flow/missing-1")
    assert unknown.exit_code == 1 and unknown.stderr.strip() == "error: databar get_flow: HTTP 404: Flow not found"
    bad = invoke(mocks.env, "inputs", "databar:nope")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: databar reference must be")


# --- flowdeck batch --check and the check before a batch ------------------------------------------


def test_check_misnamed_column(mocks: MockProviders, tmp_path: Path) -> None:
    """--check reports a misnamed column with a --map suggestion, starting and writing nothing."""
    source = write(tmp_path / "leads.csv", "Domain,Company\nstripe.com,Stripe\nacme.com,Acme\n")
    out = tmp_path / "results.jsonl"
    result = invoke(mocks.env, "batch", "databar:flow/f1", str(source), "--out", str(out), "--check")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "databar:flow/f1: 2 rows; declared inputs: domain (required), country" in lines
    assert "journal: 0 rows finished, 0 started runs to wait on, 2 rows to start" in lines
    assert (
        "problem: databar:flow/f1: required input 'domain' is in no column; column 'Domain' is close: "
        "--map Domain=domain" in lines
    )
    assert "warning: databar:flow/f1: column 'Company' is not a declared input; it is sent as is" in lines
    assert lines[-1] == "not ready: nothing was started"
    assert mocks.start_count == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["leads.csv"]

    fixed = invoke(
        mocks.env, "batch", "databar:flow/f1", str(source), "--out", str(out), "--check", "--map", "Domain=domain"
    )
    assert fixed.exit_code == 0, fixed.output
    assert fixed.stdout.splitlines()[-1] == "ready: nothing was started"
    assert mocks.start_count == 0 and not out.exists()


def test_check_maps_to_required(tmp_path: Path) -> None:
    """A column whose words name a required and an optional input is suggested for the required one."""
    flows = {"enrich": {"domain": True, "company": False}}
    source = write(tmp_path / "leads.csv", "Company Domain\nstripe.com\n")
    with MockProviders(MockConfig(databar_flows=flows)) as served:
        out = str(tmp_path / "results.jsonl")
        result = invoke(served.env, "batch", "databar:flow/enrich", str(source), "--out", out, "--check")
    assert result.exit_code == 1, result.output
    assert (
        "problem: databar:flow/enrich: required input 'domain' is in no column; column 'Company Domain' is close: "
        "--map 'Company Domain=domain'" in result.stdout.splitlines()
    )
    assert "not a declared input" not in result.output


def test_check_empty_required_cells(mocks: MockProviders, tmp_path: Path) -> None:
    """--check names the rows with an empty required cell."""
    source = write(tmp_path / "in.csv", "domain,country\nstripe.com,US\n,FR\n  ,DE\nacme.com,\n")
    result = invoke(mocks.env, "batch", "databar:flow/f1", str(source), "--out", str(tmp_path / "r.jsonl"),
                    "--check", "--json")  # fmt: skip
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ready"] is False
    assert report["workflows"][0]["empty_required"] == {"domain": [3, 4]}  # an optional empty cell is fine
    assert report["problems"] == ["databar:flow/f1: required input 'domain' is empty in rows 3, 4"]


def test_batch_missing_required(mocks: MockProviders, tmp_path: Path) -> None:
    """A batch missing a required input is refused before any start."""
    source = write(tmp_path / "leads.csv", "Domain\nstripe.com\nacme.com\n")
    out = tmp_path / "results.jsonl"
    refused = invoke(mocks.env, "batch", "databar:flow/f1", str(source), "--out", str(out))
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.splitlines() == [
        "problem: databar:flow/f1: required input 'domain' is in no column; column 'Domain' is close: "
        "--map Domain=domain",
        "error: required inputs are missing, so nothing was started; fix the input file or --map its columns "
        "(flowdeck inputs REF lists them; --no-check skips this check)",
    ]
    assert mocks.start_count == 0 and not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["leads.csv"]

    skipped = invoke(mocks.env, "batch", "databar:flow/f1", str(source), "--out", str(out), "--no-check", "--json")
    assert skipped.exit_code == 1  # the provider refuses each row itself (400), after a start request each
    assert json.loads(skipped.stdout)["statuses"] == {"REJECTED": 2}
    assert mocks.start_count == 0  # refused by the mock: nothing ran

    mapped = invoke(mocks.env, "batch", "databar:flow/f1", str(source), "--out", str(tmp_path / "ok.jsonl"),
                    "--map", "Domain=domain", "--json")  # fmt: skip
    assert mapped.exit_code == 0, mapped.output
    assert mocks.start_count == 1  # the two rows in one bulk task


def test_check_estimates_credits(tmp_path: Path) -> None:
    """--check counts finished rows and estimates credits from earlier runs."""
    config = MockConfig(databar_flows=FLOWS, databar_credits=2)
    source = write(tmp_path / "in.csv", "domain\na.com\nb.com\nc.com\nd.com\n")
    out = tmp_path / "results.jsonl"
    with MockProviders(config) as served:
        first = invoke(served.env, "batch", "databar:flow/f1", str(source), "--out", str(out), "--json", "--bulk", "2")
        assert json.loads(first.stdout)["statuses"] == {"SUCCEEDED": 2, "REJECTED": 2}  # a task of 2 is 406
        spent = {r["row"]: r.get("credits_spent") for r in map(json.loads, out.read_text().splitlines())}
        assert sorted(spent.values(), key=str) == [1.0, 1.0, None, None]  # recorded for the runs that ran

        before = (out.read_bytes(), (tmp_path / "results.jsonl.flowdeck-state.jsonl").read_bytes())
        check = invoke(served.env, "batch", "databar:flow/f1", str(source), "--out", str(out), "--check",
                       "--retry-rejected")  # fmt: skip
        assert check.exit_code == 0, check.output  # a low balance is a warning, not a refusal
        lines = check.stdout.splitlines()
        assert "journal: 2 rows finished, 0 started runs to wait on, 2 rows to start" in lines
        assert "databar: balance 0 credits; about 1 per run from 2 earlier runs: about 2 for the 2 rows left" in lines
        assert "warning: databar: balance 0 credits; the 2 rows left may need about 2" in lines
        assert before == (out.read_bytes(), (tmp_path / "results.jsonl.flowdeck-state.jsonl").read_bytes())
        assert served.start_count == 1  # the one task of two rows that had credits

        unknown_cost = invoke(served.env, "batch", "databar:flow/f1", str(source), "--out", str(tmp_path / "n.jsonl"),
                              "--check", "--json")  # fmt: skip
        credits = json.loads(unknown_cost.stdout)["credits"]
        assert credits == [{"provider": "databar", "balance": 0.0, "rows_left": 4, "per_run": None, "runs_seen": 0,
                            "error": None, "estimate": None}]  # fmt: skip
        assert (
            "cost of the 4 rows left: unknown"
            in invoke(
                served.env, "batch", "databar:flow/f1", str(source), "--out", str(tmp_path / "n.jsonl"), "--check"
            ).stdout
        )

        warned = invoke(served.env, "batch", "databar:flow/f1", str(source), "--out", str(out), "--retry-rejected",
                        "--bulk", "2")  # fmt: skip
        assert "warning: databar: balance 0 credits; the 2 rows left may need about 2" in warned.stderr
        assert served.start_count == 1  # it went ahead (the mock refused the start: no credits)


def test_check_without_declared(mocks: MockProviders, tmp_path: Path) -> None:
    """--check of a provider without declared inputs reports what it can."""
    source = write(tmp_path / "in.jsonl", '{"topic": "a"}\n{"topic": "b"}\n')
    result = invoke(mocks.env, "batch", "gumloop:weekly-digest", str(source), "--out", str(tmp_path / "r.jsonl"),
                    "--check")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "gumloop:weekly-digest: 2 rows; inputs not checked: Gumloop's API publishes no declared inputs "
        "(a flow's inputs are its Input nodes' names)",
        "journal: 0 rows finished, 0 started runs to wait on, 2 rows to start",
        "ready: nothing was started",
    ]


def test_check_other_batch_out(mocks: MockProviders, tmp_path: Path) -> None:
    """--check of a results file of another batch is not ready."""
    out = tmp_path / "r.jsonl"
    first = write(tmp_path / "a.jsonl", '{"topic": "a"}\n')
    assert invoke(mocks.env, "batch", "gumloop:weekly-digest", str(first), "--out", str(out)).exit_code == 0
    other = write(tmp_path / "b.jsonl", '{"topic": "b"}\n')
    result = invoke(mocks.env, "batch", "gumloop:weekly-digest", str(other), "--out", str(out), "--check")
    assert result.exit_code == 1
    assert any("begun with other inputs" in line for line in result.stdout.splitlines() if line.startswith("problem"))


def test_unreadable_inputs_warns(mocks: MockProviders, tmp_path: Path) -> None:
    """Unreadable declared inputs make --check not ready; a batch only warns."""
    source = write(tmp_path / "in.csv", "domain\na.com\nb.com\n")
    args = ["batch", "databar:flow/missing-x", str(source), "--out", str(tmp_path / "r.jsonl")]
    check = invoke(mocks.env, *args, "--check")
    assert check.exit_code == 1
    reason = "databar:flow/missing-x: declared inputs could not be read: databar get_flow: HTTP 404: Flow not found"
    assert f"problem: {reason}" in check.stdout.splitlines()
    ran = invoke(mocks.env, *args, "--json")
    assert ran.exit_code == 1 and json.loads(ran.stdout)["statuses"] == {"REJECTED": 2}  # the provider's 404
    assert f"warning: {reason}" in ran.stderr.splitlines()


def test_check_and_no_check(mocks: MockProviders, tmp_path: Path) -> None:
    """--check and --no-check together are a usage error."""
    source = write(tmp_path / "in.csv", "domain\na.com\n")
    result = invoke(mocks.env, "batch", "databar:flow/f1", str(source), "--out", str(tmp_path / "r.jsonl"),
                    "--check", "--no-check")  # fmt: skip
    assert result.exit_code == 2 and "contradict" in result.stderr


# --- flowdeck doctor --verify -----------------------------------------------------------------------


def verify(env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    as_json = invoke(env, "doctor", "--verify", "--json")
    table = invoke(env, "doctor", "--verify")
    assert as_json.exit_code == table.exit_code, (as_json.output, table.output)
    found = {p["provider"]: p for p in json.loads(as_json.stdout)["providers"]}
    return as_json.exit_code, found, table.stdout


def test_verify_reads_one_thing(mocks: MockProviders) -> None:
    """doctor --verify reads one authenticated thing per provider, starting nothing."""
    code, found, table = verify(mocks.env)
    assert code == 0
    assert {p: (d["verify"], d["verify_reason"]) for p, d in found.items()} == {
        "databar": ("valid", "mock@databar.example, plan mock, balance 1,000,000 credits"),
        "stackai": ("not verified", "StackAI has no read-only call: a key can only be verified by running a flow"),
        "gumloop": ("valid", "key and user id accepted (a run that cannot exist is 404, not 401/403)"),
        "superai": ("valid", "login accepted for mock@example.com"),
    }
    assert "valid: mock@databar.example, plan mock" in table
    assert mocks.start_count == 0


def test_verify_superai_token(mocks: MockProviders) -> None:
    """doctor --verify checks a SuperAI token and never prints it."""
    env = {k: v for k, v in mocks.env.items() if k not in ("SUPERAI_EMAIL", "SUPERAI_PASSWORD")}
    code, found, _ = verify({**env, "SUPERAI_TOKEN": "forged-superai-token"})
    assert code == 1 and found["superai"]["verify"] == "rejected"
    assert "forged-superai-token" not in json.dumps(found)


@pytest.mark.parametrize(
    ("variable", "value", "provider"),
    [
        ("DATABAR_API_KEY", "db-wrong-key-31337", "databar"),
        ("GUMLOOP_API_KEY", "gl-wrong-key-31337", "gumloop"),
        ("GUMLOOP_USER_ID", "someone-else", "gumloop"),
        ("SUPERAI_PASSWORD", "su-wrong-password-31337", "superai"),
    ],
)
def test_verify_rejected_key(mocks: MockProviders, variable: str, value: str, provider: str) -> None:
    """A rejected credential is named, exits 1 and is never printed."""
    code, found, table = verify({**mocks.env, variable: value})
    assert code == 1
    assert found[provider]["verify"] == "rejected", found[provider]
    assert {p: d["verify"] for p, d in found.items() if p != provider} | {provider: "x"} == {
        "databar": "valid", "stackai": "not verified", "gumloop": "valid", "superai": "valid", provider: "x",
    }  # fmt: skip
    assert "rejected" in table and "credentials rejected by" in table
    secret = value if variable != "GUMLOOP_USER_ID" else "mock-gumloop-key"
    for text in (table, json.dumps(found)):
        assert secret not in text


def test_verify_unreachable(mocks: MockProviders) -> None:
    """An unreachable provider is reported with its reason, exit 1."""
    code, found, _ = verify({**mocks.env, "GUMLOOP_BASE_URL": f"http://127.0.0.1:{closed_port()}/api/v1"})
    assert code == 1  # nothing was rejected, but a ready provider that cannot be reached is of no use
    assert found["gumloop"]["verify"] == "unreachable" and found["gumloop"]["usable"] is False
    assert "ConnectError" in found["gumloop"]["verify_reason"]


def test_verify_skips_unconfigured(mocks: MockProviders) -> None:
    """doctor --verify skips providers that are not configured."""
    code, found, _ = verify({"DATABAR_API_KEY": mocks.env["DATABAR_API_KEY"],
                             "DATABAR_BASE_URL": mocks.env["DATABAR_BASE_URL"]})  # fmt: skip
    assert code == 0
    assert {p: d.get("verify") for p, d in found.items()} == {
        "databar": "valid", "stackai": None, "gumloop": None, "superai": None,
    }  # fmt: skip


def test_check_suggests_map(mock_env: dict[str, str], tmp_path: Path) -> None:
    """batch --check names the --map to paste for a header holding the input name."""
    leads = tmp_path / "leads.csv"
    leads.write_text("Company Domain\nstripe.com\nacme.com\n")  # the README's sample file
    result = runner.invoke(
        app, ["batch", "databar:flow/enrich", str(leads), "--out", str(tmp_path / "o.jsonl"), "--check"]
    )
    assert result.exit_code == 0, result.output
    assert "(did you mean 'domain'? --map 'Company Domain=domain')" in result.stdout


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
