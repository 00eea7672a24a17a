"""The Prism servers are one set per run: the xdist workers share them, and the last one out stops them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests._prism import ROOT, _exited, _is_prism, _stop, shared_prism_servers

pytestmark = pytest.mark.contract

# Another process (a second xdist worker) entering the shared servers, until it reads a line on stdin.
OTHER_WORKER = """
import json, sys
from pathlib import Path
from contract_tests._prism import shared_prism_servers
with shared_prism_servers(("gumloop",), Path(sys.argv[1])) as urls:
    print(json.dumps(urls), flush=True)
    sys.stdin.readline()
"""


def test_prism_shared_per_run(tmp_path: Path) -> None:
    """Prism is started once per run and stopped by the last process out, whichever that is."""
    # The process that started the server leaves first: the server keeps serving the other one, which
    # stops it on its way out.
    pids: list[int] = []
    with subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", OTHER_WORKER, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    ) as starter:  # fmt: skip
        try:
            assert starter.stdout is not None and starter.stdin is not None
            urls = json.loads(starter.stdout.readline())
            pids = json.loads((tmp_path / "prism.json").read_text())["pids"]
            with shared_prism_servers(("gumloop",), tmp_path) as joined:
                assert joined == urls  # joined the running server, started none
                assert json.loads((tmp_path / "prism.json").read_text())["pids"] == pids
                starter.stdin.write("\n")
                starter.stdin.close()
                assert starter.wait(timeout=30) == 0
                assert not any(_exited(pid) for pid in pids)
                assert _is_prism(urls["gumloop"])  # still serving after its starter left
            assert all(_exited(pid) for pid in pids), "a Prism server outlived the last process using it"
            # Not "connection refused": the freed port may already serve another test's server.
            assert not _is_prism(urls["gumloop"])
        finally:
            if starter.poll() is None:
                starter.kill()
            _stop([pid for pid in pids if not _exited(pid)])  # what a failed assertion above left running


def test_port_race_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """free_port() only says nobody listened a moment ago: another worker's server may bind it first."""
    import http.server
    import threading

    from contract_tests import _prism

    class Squatter(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"not prism")

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Squatter) as squatter:
        thread = threading.Thread(target=squatter.serve_forever, daemon=True)
        thread.start()
        ports, free_port = iter([squatter.server_address[1]]), _prism.free_port
        monkeypatch.setattr(_prism, "free_port", lambda: next(ports, None) or free_port())
        try:
            with _prism.prism_servers(("gumloop",), startup=30) as urls:
                assert urls["gumloop"] != f"http://127.0.0.1:{squatter.server_address[1]}"
                assert "stoplight.io/prism" in httpx.get(urls["gumloop"], timeout=5).text
        finally:
            squatter.shutdown()
            thread.join()


def test_no_node_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without node on PATH, starting Prism is refused at once, saying why."""
    # Prism's launcher runs under `node`: without it each launch dies silently, which must not be
    # mistaken for a lost port race and retried until the start-up deadline.
    from contract_tests import _prism

    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no node, no env either
    launched: list[object] = []
    real_popen = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        launched.append(args)
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)
    with (
        pytest.raises(RuntimeError, match=r"^node not found on PATH \(Prism needs it: install Node\.js\)$"),
        _prism.prism_servers(("gumloop",), startup=3),
    ):
        pass
    assert launched == []  # said before launching anything
