#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Python venv (moto, cfn-lint), a moto server on a
# free loopback port, every Rust test (unit, conformance on both adapters, HTTP), template lint.
# Usage: infra/test.sh [extra nextest/cargo test args, e.g. a test name filter]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# --- Python tools (pinned) -------------------------------------------------------------
venv="$root/.venv"
if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/cfn-lint" ] || [ ! -x "$venv/bin/sam" ] || ! cmp -s infra/requirements-test.txt "$venv/.requirements"; then
  echo "==> creating Python venv with moto and cfn-lint"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-test.txt
  cp infra/requirements-test.txt "$venv/.requirements"
fi

# --- moto on a free loopback port, stopped however we exit --------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$venv/bin/python" infra/moto_server.py 127.0.0.1 "$port" >"${TMPDIR:-/tmp}/miping-moto-$port.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true; wait $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null || { echo "moto did not start"; cat "${TMPDIR:-/tmp}/miping-moto-$port.log"; exit 1; }
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
echo "==> moto on $AWS_ENDPOINT_URL"

# --- Headless browser for the connect page test (BEGIN connect-page block) ----------------
# Debian's chromium + chromium-driver; the test drives them over WebDriver (never a downloaded
# browser). Installed only when missing.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "==> installing chromium and chromium-driver (connect page browser test)"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# --- (END connect-page block) ----------------------------------------------------------------

# --- Browser-test tools (BEGIN browser-tests block) -----------------------------------------
# Node from Debian when missing, then playwright-core and axe-core as pinned by
# infra/browser-tests/package-lock.json (test tools only; they drive the chromium above).
if ! command -v npm >/dev/null 2>&1; then
  echo "==> installing nodejs and npm (browser tests)"
  if [ "$(id -u)" -ne 0 ]; then sudo apt-get update -qq && sudo apt-get install -y -qq nodejs npm >/dev/null
  else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; fi
fi
bt=infra/browser-tests
if ! cmp -s "$bt/package-lock.json" "$bt/node_modules/.miping-lock"; then
  echo "==> npm ci in $bt"
  (cd "$bt" && npm ci --no-audit --no-fund --loglevel=error) && cp "$bt/package-lock.json" "$bt/node_modules/.miping-lock"
fi
# --- (END browser-tests block) ---------------------------------------------------------------

# --- Rust tests ---------------------------------------------------------------------------
# A whole-suite run compiles each workspace crate once; incremental caches would only add
# several GB to the target dir (a clean CI checkout has no use for them). Set it to 1 to keep them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
if [ -f infra/test-setup.sh ]; then source infra/test-setup.sh; fi
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast "$@"
else
  cargo test --workspace --all-features --no-fail-fast "$@"
fi

# --- OpenAPI document + schema-driven fuzz of the local process (BEGIN openapi-fuzz block) ---
# Validates the served /openapi.json and runs schemathesis against the local process (no 5xx
# allowed), as a tenant admin and as the super admin. Only for a full run (no nextest filter).
if [ "$#" -eq 0 ]; then
  infra/api-fuzz.sh
fi
# --- (END openapi-fuzz block) ----------------------------------------------------------------

# --- SAM template: lint, validate, least privilege (BEGIN deploy block) --------------------
# All offline: cfn-lint, `sam validate --lint` (the SAM CLI's own checks), then
# infra/template_test.py on the template as SAM transforms it (IAM roles, queues, alarms).
if [ -f template.yaml ]; then
  echo "==> cfn-lint template.yaml"
  "$venv/bin/cfn-lint" template.yaml
  echo "==> sam validate --lint"
  SAM_CLI_TELEMETRY=0 "$venv/bin/sam" validate --lint --template template.yaml
  echo "==> least privilege (infra/template_test.py)"
  "$venv/bin/python" infra/template_test.py
fi
# --- (END deploy block) ---------------------------------------------------------------------
echo "==> all tests passed"
