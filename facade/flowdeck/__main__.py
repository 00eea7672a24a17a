"""``python -m flowdeck`` runs the command line."""

from flowdeck._cli import app

app(prog_name="flowdeck")
