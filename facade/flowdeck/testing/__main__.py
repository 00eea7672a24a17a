"""``python -m flowdeck.testing``: serve the four mock providers (the same arguments as ``flowdeck mock``)."""

import sys

from flowdeck.testing._command import main

if __name__ == "__main__":
    sys.exit(main())
