"""``flowdeck mock`` and ``python -m flowdeck.testing``: one argument parser, two ways in.

Plain ``argparse`` (no typer): ``flowdeck.testing`` must work without the command line's extras.
Served in the foreground until Ctrl-C, or in the background with ``--env``, printing only ``export``
lines on stdout, like ``ssh-agent``, so that ``eval "$(flowdeck mock --env)"`` works.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import select
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, NoReturn, TextIO

import attrs

from flowdeck.testing._conventions import conventions_text
from flowdeck.testing._mockcore import (
    Faults,
    MockConfig,
    credits_problem,
    flow_id_problem,
    quota_problem,
    seconds_problem,
    share_problem,
)
from flowdeck.testing._mockfile import MockFileError, read_mock_file
from flowdeck.testing._server import PROVIDERS, MockProviders, PortInUse

PID_VARIABLE = "FLOWDECK_MOCK_PID"
READY_SECONDS = 30.0
EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 130, 143


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line and exit 2, like every other flowdeck usage error."""
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def _share(text: str) -> float:
    try:
        value = float(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if problem := share_problem(value):
        raise argparse.ArgumentTypeError(f"{text!r} {problem} (or 0% and 100%)")
    return value


def _checked(
    text: str, noun: str, problem: Callable[[float], str | None], *, number: str | None = None, scale: float = 1
) -> float:
    """``number`` (``text`` itself by default) over ``scale``, refused as not ``noun`` or by ``problem``."""
    try:
        value = float(text if number is None else number) / scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
    if found := problem(value):
        raise argparse.ArgumentTypeError(f"{text!r} {found}")
    return value


def _seconds(text: str) -> float:
    return _checked(text, "a number of seconds", seconds_problem)


def _delay(text: str) -> float:
    """Seconds (a bare number, or with an ``s`` suffix), or milliseconds with an ``ms`` suffix."""
    scale, number = (1000, text[:-2]) if text.endswith("ms") else (1, text.removesuffix("s"))
    return _checked(text, "a number of seconds (or of milliseconds: 80ms)", seconds_problem, number=number, scale=scale)


def _quota(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of starts per second") from None
    if quota_problem(value):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the starts per second the mocks accept, more than 0 (leave it out for no quota)"
        )
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not (int(text) == 0 or 1 <= int(text) <= 65536 - len(PROVIDERS)):
        raise argparse.ArgumentTypeError(f"{text!r} is not 0 or a port from 1 to {65536 - len(PROVIDERS)}")
    return int(text)


def _credits(text: str) -> float:
    return _checked(text, "a number of credits", credits_problem)


def _flow_inputs(text: str) -> tuple[str, tuple[str, ...]]:
    """``FLOW=INPUT[,INPUT...]``, FLOW a Databar flow id or ``databar:flow/<id>``."""
    flow, sep, names = text.rpartition("=")
    flow = flow.removeprefix("databar:flow/")
    inputs = tuple(n.strip() for n in names.split(",") if n.strip())
    if not sep or not flow or not inputs:
        raise argparse.ArgumentTypeError(f"{text!r} is not FLOW=INPUT[,INPUT...] (a Databar flow id, its inputs)")
    if problem := flow_id_problem(flow):
        raise argparse.ArgumentTypeError(f"{flow!r} {problem}")
    return flow, inputs


def _serving_options(parser: argparse.ArgumentParser) -> None:
    """Where and how the mocks are served: ports, --env, --replay."""
    serving = parser.add_argument_group("serving")
    serving.add_argument(
        "--port", type=_port, default=0, metavar="PORT", help="first of four ports in a row (default 0: free ports)"
    )
    serving.add_argument(
        "--env",
        action="store_true",
        help="serve in the background; print only `export` lines (with FLOWDECK_MOCK_PID) on stdout",
    )
    serving.add_argument(
        "--replay",
        metavar="FILE.har",
        default=None,
        help="answer with a recording's exchanges (flowdeck --record), time compressed, instead of simulating runs",
    )
    serving.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a throwaway CA (needs trustme); SSL_CERT_FILE in the export lines trusts it",
    )
    serving.add_argument("--detached", action="store_true", help=argparse.SUPPRESS)


def build_parser(prog: str = "python -m flowdeck.testing") -> argparse.ArgumentParser:
    """The parser shared by ``flowdeck mock`` and ``python -m flowdeck.testing``.

    >>> build_parser().parse_args(["--rate-limit", "10%", "--seed", "3"]).rate_limit
    0.1
    """
    parser = _Parser(
        prog=prog,
        description="Serve stateful mocks of Databar, StackAI, Gumloop and SuperAI Flows on 127.0.0.1.",
        epilog='Examples:\n  eval "$(flowdeck mock --env)"   # serve in the background, set the variables\n'
        "  flowdeck run databar:flow/demo -i domain=stripe.com\n  kill $FLOWDECK_MOCK_PID\n\n"
        f"  {prog} --rate-limit 30% --drop-rate 5% --latency 0.2   # in the foreground until Ctrl-C\n\n"
        "Scripting a run (what the provider documents  <-  how to trigger it  =>  what flowdeck reports):\n"
        + textwrap.indent(conventions_text(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _serving_options(parser)
    runs = parser.add_argument_group("runs")
    runs.add_argument(
        "--seed", metavar="N", type=int, default=None, help="seed of every random choice (default: a new one, shown)"
    )
    runs.add_argument(
        "--run-seconds", metavar="S", type=_seconds, default=None, help="longest run, in seconds (default 2)"
    )
    runs.add_argument(
        "--min-run-seconds", metavar="S", type=_seconds, default=None, help="shortest run (default: half the longest)"
    )
    runs.add_argument(
        "--fail-rate", metavar="P", type=_share, default=None, help="share of runs that end FAILED (0-1 or 0-100%%)"
    )
    _fault_options(parser)
    _databar_options(parser)
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="a MockConfig as TOML (its fields as keys, [faults] a table); flags given override it",
    )
    return parser


def _fault_options(parser: argparse.ArgumentParser) -> None:
    faults = parser.add_argument_group("faults (on a share of requests)")
    faults.add_argument("--rate-limit", metavar="P", type=_share, default=None, help="answer 429 with Retry-After")
    faults.add_argument(
        "--retry-after",
        metavar="S",
        type=_seconds,
        default=None,
        help="seconds in 429s' Retry-After header (default 1)",
    )
    faults.add_argument(
        "--server-errors", metavar="P", type=_share, default=None, help="answer 500, 502, 503 or 504 (not processed)"
    )
    faults.add_argument(
        "--drop-rate",
        metavar="P",
        type=_share,
        default=None,
        help="drop the connection (half before, half after processing)",
    )
    faults.add_argument(
        "--latency", metavar="S", type=_delay, default=None, help="added to every response: seconds, or 80ms"
    )
    faults.add_argument(
        "--jitter", metavar="S", type=_delay, default=None, help="latency varies by up to this, either way (20ms)"
    )
    faults.add_argument(
        "--start-quota", metavar="N", type=_quota, default=None, help="starts per second accepted; more get 429"
    )


def _databar_options(parser: argparse.ArgumentParser) -> None:
    databar = parser.add_argument_group("databar (what a pre-flight check reads: flowdeck inputs, batch --check)")
    databar.add_argument(
        "--credits", metavar="N", type=_credits, default=None, help="credit balance (default unlimited)"
    )
    databar.add_argument(
        "--required-inputs",
        metavar="FLOW=IN,..",
        type=_flow_inputs,
        action="append",
        default=[],
        help="declare a flow's required inputs (repeatable): a run without one answers 400",
    )
    databar.add_argument(
        "--optional-inputs",
        metavar="FLOW=IN,..",
        type=_flow_inputs,
        action="append",
        default=[],
        help="declare a flow's optional inputs (repeatable)",
    )


def _run_seconds(args: argparse.Namespace, file: dict[str, Any]) -> tuple[float, float]:
    if args.run_seconds is None and args.min_run_seconds is None and "run_seconds" in file:
        lo, hi = file["run_seconds"]
        return float(lo), float(hi)
    longest = 2.0 if args.run_seconds is None else args.run_seconds
    shortest = longest / 2 if args.min_run_seconds is None else args.min_run_seconds
    if shortest > longest:
        raise ValueError(f"--min-run-seconds {shortest:g} is more than --run-seconds {longest:g}")
    return shortest, longest


_SHARE_FLAGS = {"rate_limit": "--rate-limit", "drop_rate": "--drop-rate", "server_errors": "--server-errors"}


def _faults(args: argparse.Namespace, file: dict[str, Any]) -> Faults:
    """The faults the share flags describe, else the file's ``[faults]`` (or none); then the flags'
    ``--latency`` and ``--retry-after``."""
    base: Faults = file.get("faults") or Faults(rate=0.0, kinds=("429",), retry_after=1)
    given = {flag: getattr(args, flag) for flag in _SHARE_FLAGS if getattr(args, flag) is not None}
    if given:
        if sum(given.values()) > 1:
            raise ValueError(f"{' and '.join(_SHARE_FLAGS[f] for f in given)} add up to more than 100%")
        drops, errors = given.get("drop_rate", 0.0), given.get("server_errors", 0.0)
        shares = {"429": given.get("rate_limit", 0.0), "drop_before": drops / 2, "drop_after": drops / 2}
        shares.update({status: errors / 4 for status in ("500", "502", "503", "504")})
        total = sum(shares.values())
        # Faults picks kinds uniformly: repeat each as often as its share.
        kinds = tuple(k for k, share in shares.items() for _ in range(round(100 * share / total))) if total else ()
        base = attrs.evolve(base, rate=total, kinds=kinds or ("429",))
    if args.retry_after is not None:
        base = attrs.evolve(base, retry_after=round(args.retry_after))
    delays = {field: getattr(args, field) for field in ("latency", "jitter") if getattr(args, field) is not None}
    try:
        return attrs.evolve(base, **delays)
    except ValueError:
        jitter, latency = delays.get("jitter", base.jitter), delays.get("latency", base.latency)
        raise ValueError(f"--jitter {jitter * 1000:g}ms is more than --latency {latency * 1000:g}ms") from None


def _declared_flows(args: argparse.Namespace, file: dict[str, Any]) -> dict[str, dict[str, bool]]:
    flows = {flow: dict(inputs) for flow, inputs in file.get("databar_flows", {}).items()}
    for required, given in ((False, args.optional_inputs), (True, args.required_inputs)):
        for flow, names in given:
            flows.setdefault(flow, {}).update(dict.fromkeys(names, required))
    return flows


def config_from(args: argparse.Namespace) -> MockConfig:
    """The :class:`MockConfig` the parsed arguments describe: the ``--config`` file's, then the flags'.

    ValueError, naming the flag or the file's key, for values that do not go together.
    """
    try:
        file = read_mock_file(args.config) if args.config else {}
    except MockFileError as exc:
        raise ValueError(f"--config {exc}") from None
    fields = {
        **file,
        "run_seconds": _run_seconds(args, file),
        "faults": _faults(args, file),
        "databar_flows": _declared_flows(args, file),
        # A new seed: a restarted mock must not reuse its last life's run ids,
        # or a resumed batch would take another row's run for its own.
        "seed": args.seed if args.seed is not None else file.get("seed", secrets.randbelow(10**6)),
    }
    for flag, field in (("fail_rate", "failure_rate"), ("credits", "databar_credits"), ("start_quota", "start_quota")):
        if getattr(args, flag) is not None:
            fields[field] = getattr(args, flag)
    try:
        return MockConfig(**fields)
    except ValueError as exc:  # the file's values (flags are checked as parsed)
        raise ValueError(f"--config {args.config}: {exc}" if args.config else str(exc)) from None


def _describe(config: MockConfig, args: argparse.Namespace | None = None) -> str:
    if args is not None and args.replay:
        return f"replaying {args.replay}, time compressed"
    lo, hi = config.run_seconds
    parts = [f"seed {config.seed}", f"runs take {lo:g}-{hi:g} s"]
    faults = config.faults
    shares = {
        label: faults.rate * sum(k in kinds for k in faults.kinds) / len(faults.kinds)
        for label, kinds in (
            ("429s", {"429"}),
            ("drops", {"drop_before", "drop_after"}),
            ("5xx", {"500", "502", "503", "504"}),
        )
    }
    shares = {"failed runs": config.failure_rate, **shares}
    parts += [f"{label} {share:.0%}" for label, share in shares.items() if share]
    if faults.latency:
        jitter = f" ± {faults.jitter * 1000:g}" if faults.jitter else ""
        parts.append(f"+{faults.latency * 1000:g}{jitter} ms latency")
    if config.databar_credits is not None:
        parts.append(f"{config.databar_credits:g} Databar credits")
    for flow, inputs in config.databar_flows.items():
        declared = ", ".join(f"{name}{'' if required else ' (optional)'}" for name, required in inputs.items())
        parts.append(f"databar:flow/{flow} takes {declared}")
    return ", ".join(parts)


def _exports(env: dict[str, str]) -> str:
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt: the mocks stop the same way for both."""


def _stop_on_sigterm() -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    signal.signal(signal.SIGTERM, stop)


def _stopped_code(exc: KeyboardInterrupt) -> int:
    """130 after Ctrl-C, 143 after SIGTERM (128 + the signal's number), as every flowdeck command exits:
    a script or supervisor can tell a stop from a clean end, and which signal it was."""
    code: int = getattr(exc, "exit_code", EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED)
    return code  # the command line's stop signals carry their own code (SIGHUP: 129)


def _serve(args: argparse.Namespace, config: MockConfig, stdout: TextIO, stderr: TextIO) -> int:
    ports = {p: args.port + i for i, p in enumerate(PROVIDERS)} if args.port else {}
    mocks = (
        MockProviders.from_har(args.replay, ports=ports)
        if args.replay
        else MockProviders(config, ports=ports, tls=args.tls)
    )
    _stop_on_sigterm()
    try:
        mocks.serve()
    except KeyboardInterrupt as exc:
        mocks.stop()
        return _stopped_code(exc)
    except RuntimeError as exc:
        code = EXIT_USAGE if isinstance(exc, PortInUse) else 1  # the user's port to change
        message = f"{exc}; pick another --port, or 0 for free ones" if isinstance(exc, PortInUse) else str(exc)
        if args.detached:
            stdout.write(json.dumps({"error": message, "code": code}) + "\n")
            stdout.flush()
        else:
            stderr.write(f"error: {message}\n")
        return code
    try:
        if args.detached:  # variables to the parent, then let go
            stdout.write(json.dumps({"env": mocks.env}) + "\n")
            stdout.flush()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout.fileno())
            os.close(devnull)
        else:
            stderr.write(f"flowdeck mock: serving four mock providers on 127.0.0.1 ({_describe(config, args)})\n")
            for name in PROVIDERS:
                stderr.write(f"  {name:<8} {mocks.urls[name]}\n")
            if mocks.ca_file:
                stderr.write(_trust_hint(mocks.ca_file))
            stderr.write(
                "Point flowdeck at them with the export lines on stdout (or serve in the background with: "
                'eval "$(flowdeck mock --env)"). Press Ctrl-C to stop.\n'
            )
            stderr.flush()
            stdout.write(_exports(mocks.env))
            stdout.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt as exc:
        if not args.detached:  # on a terminal, after the echoed ^C
            stderr.write(("\n" if stderr.isatty() else "") + "flowdeck mock: stopping\n")
        return _stopped_code(exc)
    finally:
        mocks.stop()


def _serve_in_background(
    argv: Sequence[str], args: argparse.Namespace, config: MockConfig, stdout: TextIO, stderr: TextIO
) -> int:
    # So the banner shows the seed the child serves with.
    child_args = [a for a in argv if a != "--env"] + ["--detached", "--seed", str(config.seed)]
    child = subprocess.Popen(  # noqa: S603 - this module, arguments validated
        [sys.executable, "-m", "flowdeck.testing", *child_args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], READY_SECONDS)
    line = child.stdout.readline() if ready else b""
    child.stdout.close()
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        message = {"error": f"the mock providers did not start within {READY_SECONDS:g} s"}
    if "env" not in message:
        child.kill()
        child.wait()
        stderr.write(f"error: {message.get('error', 'the mock providers did not start')}\n")
        return int(message.get("code", 1))
    stdout.write(_exports({**message["env"], PID_VARIABLE: str(child.pid)}))
    stdout.flush()
    stderr.write(
        f"flowdeck mock: serving four mock providers in the background (pid {child.pid}; "
        f"{_describe(config, args)}); stop them with: kill ${PID_VARIABLE}\n"
    )
    if "SSL_CERT_FILE" in message["env"]:
        stderr.write(_trust_hint(message["env"]["SSL_CERT_FILE"]))
    return 0


def _trust_hint(ca_file: str) -> str:
    """What to trust, pasteable: the shell's variable (in the export lines) and Python's context."""
    return (
        f"HTTPS from a throwaway CA; trust it with: export SSL_CERT_FILE={shlex.quote(ca_file)}  "
        "(the export lines set it; flowdeck and httpx read it, and the file holds certifi's roots too), "
        f"or in Python: ssl.create_default_context(cafile={ca_file!r})\n"
    )


def main(argv: Sequence[str] | None = None, prog: str = "python -m flowdeck.testing") -> int:
    """Parse ``argv`` and serve; returns the exit code.

    >>> main(["--help"])  # doctest: +SKIP
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        config = config_from(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.replay:  # no recording: a usage error, before serving
        try:
            MockProviders.from_har(args.replay)
        except ValueError as exc:
            parser.error(f"--replay {exc}")
    if args.tls and args.replay:
        parser.error("--tls serves the simulated mocks; a --replay serves plain HTTP")
    if args.tls and importlib.util.find_spec("trustme") is None:
        parser.error("--tls needs trustme (a throwaway CA): pip install trustme")
    if args.env and not args.detached:
        return _serve_in_background(argv, args, config, sys.stdout, sys.stderr)
    return _serve(args, config, sys.stdout, sys.stderr)
