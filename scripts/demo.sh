#!/usr/bin/env bash
# One command: install leadsync into .venv and run the main job on the embedded demo
# (sample CSV + web-form files -> rules -> local SQLite CRM), then print the run summary.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
leadsync validate --config config/leadsync.yaml
leadsync run --config config/leadsync.yaml
echo
echo "Run it again: nothing new is captured and nothing is written twice."
echo "Leads in the local CRM: leadsync export leads.csv --config config/leadsync.yaml"
