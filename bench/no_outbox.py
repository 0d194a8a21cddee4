"""`portal serve` of the counterfactual app `bench.no_outbox_app` (booking without its outbox
writes), with the same options, settings and worker processes as the real command:

    python -m bench.no_outbox serve --host 127.0.0.1 --port P --workers N
"""

from __future__ import annotations

import sys

from portal.ops import cli

if __name__ == "__main__":
    cli.ASGI_APP = "bench.no_outbox_app:app"
    sys.exit(cli.main(sys.argv[1:]))
