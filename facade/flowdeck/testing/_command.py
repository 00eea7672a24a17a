"""``flowdeck mock`` and ``python -m flowdeck.testing``: one argument parser, two ways in.

Plain ``argparse`` (no typer): ``flowdeck.testing`` must work without the command line's extras.
Served in the foreground until Ctrl-C, or in the background with ``--env``, printing only ``export``
lines on stdout, like ``ssh-agent``, so that ``eval "$(flowdeck mock --env)"`` works.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn, TextIO

from flowdeck.testing._conventions import conventions_text
from flowdeck.testing._mockcore import Faults, MockConfig, quota_problem, seconds_problem, share_problem
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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if problem := seconds_problem(value):
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return value


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
    serving = parser.add_argument_group("serving")
    serving.add_argument(
        "--port", type=_port, default=0, metavar="PORT", help="first of four ports in a row (default 0: free ports)"
    )
    serving.add_argument(
        "--env",
        action="store_true",
        help="serve in the background; print only `export` lines (with FLOWDECK_MOCK_PID) on stdout",
    )
    serving.add_argument("--detached", action="store_true", help=argparse.SUPPRESS)
    runs = parser.add_argument_group("runs")
    runs.add_argument(
        "--seed", metavar="N", type=int, default=None, help="seed of every random choice (default: a new one, shown)"
    )
    runs.add_argument(
        "--run-seconds", metavar="S", type=_seconds, default=2.0, help="longest run, in seconds (default 2)"
    )
    runs.add_argument(
        "--min-run-seconds", metavar="S", type=_seconds, default=None, help="shortest run (default: half the longest)"
    )
    runs.add_argument(
        "--fail-rate", metavar="P", type=_share, default=0.0, help="share of runs that end FAILED (0-1 or 0-100%%)"
    )
    faults = parser.add_argument_group("faults (on a share of requests)")
    faults.add_argument("--rate-limit", metavar="P", type=_share, default=0.0, help="answer 429 with Retry-After")
    faults.add_argument(
        "--retry-after", metavar="S", type=_seconds, default=1.0, help="seconds in 429s' Retry-After header (default 1)"
    )
    faults.add_argument(
        "--drop-rate",
        metavar="P",
        type=_share,
        default=0.0,
        help="drop the connection (half before, half after processing)",
    )
    faults.add_argument("--latency", metavar="S", type=_seconds, default=0.0, help="seconds added to every response")
    faults.add_argument(
        "--start-quota", metavar="N", type=_quota, default=None, help="starts per second accepted; more get 429"
    )
    return parser


def config_from(args: argparse.Namespace) -> MockConfig:
    """The :class:`MockConfig` the parsed arguments describe."""
    shortest = args.run_seconds / 2 if args.min_run_seconds is None else args.min_run_seconds
    if shortest > args.run_seconds:
        raise ValueError(f"--min-run-seconds {shortest:g} is more than --run-seconds {args.run_seconds:g}")
    if args.rate_limit + args.drop_rate > 1:
        raise ValueError("--rate-limit and --drop-rate add up to more than 100%")
    shares = {"429": args.rate_limit, "drop_before": args.drop_rate / 2, "drop_after": args.drop_rate / 2}
    total = sum(shares.values())
    # Faults picks one of its kinds uniformly: repeat each kind in proportion to its share (to 1%).
    kinds = tuple(k for k, share in shares.items() for _ in range(round(100 * share / total))) if total else ()
    faults = Faults(rate=total, kinds=kinds or ("429",), retry_after=round(args.retry_after), latency=args.latency)
    # A new seed unless one is given: a restarted mock must not hand out the ids of the runs its last
    # life started (a batch resumed against it would take another row's run for its own).
    seed = secrets.randbelow(10**6) if args.seed is None else args.seed
    return MockConfig(
        seed=seed, run_seconds=(shortest, args.run_seconds), failure_rate=args.fail_rate, faults=faults,
        start_quota=args.start_quota,
    )  # fmt: skip


def _describe(args: argparse.Namespace, config: MockConfig) -> str:
    lo, hi = config.run_seconds
    parts = [f"seed {config.seed}", f"runs take {lo:g}-{hi:g} s"]
    parts += [
        f"{label} {share:.0%}"
        for label, share in (("failed runs", args.fail_rate), ("429s", args.rate_limit), ("drops", args.drop_rate))
        if share
    ]
    if args.latency:
        parts.append(f"+{args.latency:g} s latency")
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
    return EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED


def _serve(args: argparse.Namespace, config: MockConfig, stdout: TextIO, stderr: TextIO) -> int:
    ports = {p: args.port + i for i, p in enumerate(PROVIDERS)} if args.port else {}
    mocks = MockProviders(config, ports=ports)
    _stop_on_sigterm()
    try:
        mocks.serve()
    except KeyboardInterrupt as exc:
        mocks.stop()
        return _stopped_code(exc)
    except RuntimeError as exc:
        code = EXIT_USAGE if isinstance(exc, PortInUse) else 1  # a port given by the user is theirs to change
        message = f"{exc}; pick another --port, or 0 for free ones" if isinstance(exc, PortInUse) else str(exc)
        if args.detached:
            stdout.write(json.dumps({"error": message, "code": code}) + "\n")
            stdout.flush()
        else:
            stderr.write(f"error: {message}\n")
        return code
    try:
        if args.detached:  # hand the variables to the parent, then let go of its pipe
            stdout.write(json.dumps({"env": mocks.env}) + "\n")
            stdout.flush()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout.fileno())
            os.close(devnull)
        else:
            stderr.write(f"flowdeck mock: serving four mock providers on 127.0.0.1 ({_describe(args, config)})\n")
            for name in PROVIDERS:
                stderr.write(f"  {name:<8} {mocks.urls[name]}\n")
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
    # The seed told to the child: the one the banner shows is the one it serves with.
    child_args = [a for a in argv if a != "--env"] + ["--detached", "--seed", str(config.seed)]
    child = subprocess.Popen(  # noqa: S603 - this very module, with the arguments already validated
        [sys.executable, "-m", "flowdeck.testing", *child_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
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
        f"{_describe(args, config)}); stop them with: kill ${PID_VARIABLE}\n"
    )
    return 0


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
    if args.env and not args.detached:
        return _serve_in_background(argv, args, config, sys.stdout, sys.stderr)
    return _serve(args, config, sys.stdout, sys.stderr)
