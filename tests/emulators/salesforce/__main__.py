"""Run the emulator standalone: `python -m tests.emulators.salesforce --port 8443 [--users a@x.com,b@x.com]`."""

from __future__ import annotations

import argparse
import threading

from tests.emulators.salesforce.server import SalesforceEmulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-version", default="59.0")
    parser.add_argument("--users", default="", help="comma-separated e-mails of active users to create")
    parser.add_argument("--queues", default="", help="comma-separated names of lead queues to create")
    args = parser.parse_args()
    emu = SalesforceEmulator(api_version=args.api_version, port=args.port).start()
    for email in filter(None, args.users.split(",")):
        emu.org.add_user(email.strip())
    for name in filter(None, args.queues.split(",")):
        emu.org.add_queue(name.strip())
    print(f"Salesforce emulator on {emu.url} (plain HTTP; clients rewrite https://127.0.0.1:{emu.port}/)", flush=True)
    print(f"session id: {emu.issue_session()}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()
