"""Run the emulator standalone: `python -m tests.emulators.hubspot --port 8090 [--owners a@x.com,b@x.com]`."""

from __future__ import annotations

import argparse
import threading

from tests.emulators.hubspot.server import HubSpotEmulator

LEADSYNC_PROPERTIES = ("leadsync_score", "leadsync_grade", "leadsync_mql", "leadsync_explanation", "leadsync_key",
                       "leadsync_ruleset", "leadsync_source")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--owners", default="", help="comma-separated e-mails of owners to create")
    parser.add_argument("--search-lag", type=float, default=0.0, help="seconds before writes become searchable")
    args = parser.parse_args()
    emu = HubSpotEmulator(port=args.port)
    emu.faults.search_lag_seconds = args.search_lag
    for email in filter(None, args.owners.split(",")):
        emu.account.add_owner(email.strip())
    for name in LEADSYNC_PROPERTIES:
        emu.account.properties[name] = "string"
    emu.start()
    print(f"HubSpot emulator on {emu.url} (use it as the client's host; any Bearer token is accepted)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()
