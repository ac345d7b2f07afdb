#!/usr/bin/env bash
# One command: install leadsync into .venv and run the main job on the embedded demo
# (sample CSV + web-form files -> rules -> local SQLite CRM), then print the run summary.
# Then the lifecycle demo: two people's activity over fourteen weeks, replayed week by week.
set -euo pipefail
source "$(dirname "$0")/_venv.sh" ""
leadsync validate --config config/leadsync.yaml
leadsync run --config config/leadsync.yaml
echo
echo "Run it again: nothing new is captured and nothing is written twice."
echo "Leads in the local CRM: leadsync export leads.csv --config config/leadsync.yaml"

echo
echo "== Leads over time (config/lifecycle-demo.yaml): webinar and download lists arrive week by week"
# A replay: fresh state each time, each week's lists delivered before the run of that week.
rm -rf var/demo-activity var/lifecycle-state.db* var/lifecycle-crm.db*
mkdir -p var/demo-activity
for step in "2027-01-0*:2027-01-07T12:00Z" "2027-01-19*:2027-01-20T12:00Z" "2027-03-30*:2027-04-12T12:00Z"; do
  files="${step%%:*}"; moment="${step#*:}"
  cp config/demo/activity/${files} var/demo-activity/
  leadsync run --config config/lifecycle-demo.yaml --as-of "$moment" > var/lifecycle-run.log
  echo "run as of $moment: $(grep -c . var/demo-activity/* | wc -l) list(s) delivered so far"
done
for who in maya.okafor@brightlane.example omar.haddad@northpier.example; do
  echo
  echo "-- leadsync explain $who (stage changes; the whole story without the filter)"
  leadsync explain "$who" --config config/lifecycle-demo.yaml | grep -E " stage | owner +owner " || true
done
echo
echo "Maya crosses 60 in the run of 2027-01-20 (webinar 25 + download 10 on top of fit 30) and becomes an MQL;"
echo "Omar was an MQL on 2027-01-07, nobody worked him, his events left their 90-day window and he is back in nurture."
echo "The report of it all: leadsync report --config config/lifecycle-demo.yaml --since 52w --out report.html"
