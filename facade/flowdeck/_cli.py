"""The ``flowdeck`` command line."""

import typer

app = typer.Typer(help="Run workflows on Databar, StackAI, Gumloop and SuperAI Flows.")
