"""``python -m flowdeck.testing``: serve the four mock providers until Ctrl-C (same as ``flowdeck mock``)."""

from flowdeck._cli import app

if __name__ == "__main__":
    app(["mock"])
