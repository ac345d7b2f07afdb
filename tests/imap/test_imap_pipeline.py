"""`leadsync run` with an IMAP inbox as a source, end to end into the local CRM."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from imapclient import IMAPClient

from tests.imap.dovecot import PASSWORD, USER, Dovecot
from tests.imap.test_imap_server import append_samples

LEADSYNC = str(Path(sys.executable).with_name("leadsync"))


def test_inbox_to_crm(dovecot: Dovecot, mailbox: tuple[IMAPClient, str], demo_config: Path) -> None:
    admin, folder = mailbox
    append_samples(admin, folder)
    config = yaml.safe_load(demo_config.read_text())
    config["sources"] = [{"type": "imap", "name": "sales", "host": "127.0.0.1", "port": dovecot.port,
                          "security": "none", "username": USER, "secret": "${LEADSYNC_IMAP_PASSWORD}",
                          "folders": [folder], "after_capture": "move", "processed_folder": f"{folder}-done",
                          "own_domains": ["ourco.example"], "default_region": "GB"}]
    demo_config.write_text(yaml.safe_dump(config))
    env = {**os.environ, "LEADSYNC_IMAP_PASSWORD": PASSWORD}
    run = subprocess.run([LEADSYNC, "run", "--no-prefect", "-c", str(demo_config)], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert "imap:sales" in run.stdout and "CRM created" in run.stdout
    assert PASSWORD not in run.stdout + run.stderr
    out = demo_config.parent / "leads.csv"
    subprocess.run([LEADSYNC, "export", str(out), "-c", str(demo_config)], check=True, env=env, capture_output=True)
    text = out.read_text()
    assert "d.okafor@brightpath-logistics.example" in text and "aisha.bello@greenleaf-cafes.example" in text
    assert "+442074960321" not in text and "+442079460321" in text  # 0207 946 0321 read in the GB region
    again = subprocess.run([LEADSYNC, "run", "--no-prefect", "-c", str(demo_config)], capture_output=True,
                           text=True, env=env, timeout=120, check=False)
    assert again.returncode == 0 and "CRM created" not in again.stdout
