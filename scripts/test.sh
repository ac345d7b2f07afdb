#!/usr/bin/env bash
# One command: install everything the tests need (PostgreSQL and Dovecot servers, the venv with
# test extras, headless Chromium) on a fresh Debian machine, then run ruff, mypy and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
need_pkgs=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_pkgs+=(postgresql)
command -v dovecot >/dev/null || need_pkgs+=(dovecot-imapd)
# Headless Chromium renders the HTML report in its test (Debian's browser and its matching driver).
command -v chromium >/dev/null || need_pkgs+=(chromium)
command -v chromedriver >/dev/null || need_pkgs+=(chromium-driver)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tests need: ${need_pkgs[*]} (run as root, or: sudo apt-get install ${need_pkgs[*]})" >&2; exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
# The packages' own services are not needed: the tests start private servers on 127.0.0.1.
source scripts/_venv.sh "[test]"
echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== pytest"
set +e
pytest "$@"
code=$?
set -e
if [ "$code" = 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit "$code"
