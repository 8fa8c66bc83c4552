#!/usr/bin/env bash
# Schema-driven fuzzing of the local process against its own /openapi.json: the document is
# validated (openapi-spec-validator), then schemathesis sends generated valid and invalid requests
# to every documented operation and fails on any 5xx (check `not_a_server_error`). It runs four
# times: with a tenant's API key on the external API (/api/v1/*), as that tenant's admin on the
# tenant routes, as the super admin on /plans and /admin/*, then on /auth/* (logout included)
# with a session of its own, since a logout ends the session it is sent with.
#
# Called by infra/test.sh after the Rust tests (needs its venv). Standalone: infra/api-fuzz.sh.
# Bounded to about two minutes on 2 cores; MIPING_FUZZ_MAX_EXAMPLES raises or lowers the effort.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv"
max_examples="${MIPING_FUZZ_MAX_EXAMPLES:-50}"

echo "==> API fuzz: building the local process"
# The binary the test suite already built: `cargo test --no-run` with the suite's own arguments is
# a no-op after infra/test.sh's run. A plain `cargo build --bin miping` would resolve features
# without the dev-dependencies (the test kit, aws-sdk-s3's defaults) and so compile most of the
# dependency graph a second time, several GB of disk for nothing.
miping_bin=$(cargo test --workspace --all-features --no-run --quiet --message-format=json-render-diagnostics | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line) if line.startswith("{") else {}
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and t.get("name") == "miping" and "bin" in t.get("kind", []):
        print(m["executable"])
')
[ -n "$miping_bin" ] && [ -x "$miping_bin" ] || { echo "API fuzz: the miping binary was not built"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/miping-fuzz.XXXXXX")
# A private copy: a shared target dir may be rebuilt by another build while this runs.
cp "$miping_bin" "$work/miping"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
sim_port=$(free_port)
base="http://127.0.0.1:$port"
admin_email="fuzz-admin@example.test"
admin_password="fuzz super admin password 0123"

# The per-key rate limit is raised so the external API's fuzz reaches its handlers instead of
# mostly meeting 429 (the limit itself has its own HTTP test).
MIPING_API_KEY_RATE_LIMIT=100000 MIPING_ADDR="127.0.0.1:$port" MIPING_SIM_ADDR="127.0.0.1:$sim_port" MIPING_DATA_DIR="$work/data" \
  MIPING_PUBLIC_URL="$base" SUPER_ADMIN_EMAIL="$admin_email" SUPER_ADMIN_PASSWORD="$admin_password" \
  RUST_LOG="${RUST_LOG:-warn}" "$work/miping" >"$work/miping.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # MIPING_FUZZ_LOG=path keeps the local process's log (set RUST_LOG=info to see every request).
  if [ -n "${MIPING_FUZZ_LOG:-}" ]; then cp "$work/miping.log" "$MIPING_FUZZ_LOG" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "API fuzz: $1"
  echo "--- last lines of the local process's log:"
  tail -n 60 "$work/miping.log" || true
  exit 1
}

for _ in $(seq 1 200); do
  curl -fs "$base/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "the local process exited"
  sleep 0.1
done
curl -fs "$base/health" >/dev/null || fail "the local process did not become healthy"

# Two sessions: the bootstrap super admin, and the admin of a freshly provisioned tenant (one-time
# password from the welcome email in the outbox, then changed, as a real user would); and an API
# key of that tenant. The tenant connects WhatsApp (the in-process Meta simulator accepts any code)
# and gets the approved template of the documented examples (`fee_reminder`, en, 3 variables) and
# a few contacts, so the fuzzed trigger-message, POST /messages and POST /campaigns reach the whole
# acceptance, not only the 409 `whatsapp_not_connected` or 422 `empty_audience`.
"$venv/bin/python" - "$base" "$work/data/outbox" "$admin_email" "$admin_password" >"$work/tokens" <<'PY' || fail "could not sign in"
import email, email.policy, json, pathlib, sys, time, urllib.request

base, outbox, admin_email, admin_password = sys.argv[1:5]

def call(method, path, body=None, token=None, expect=(200,)):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status in expect, (path, r.status)
        raw = r.read()
        return json.loads(raw) if raw else None

def login(mail, password):
    return call("POST", "/auth/login", {"email": mail, "password": password})["token"]

admin = login(admin_email, admin_password)
plan = call("POST", "/plans", {"name": "Fuzz", "price": "10.00", "currency": "INR", "monthly_message_limit": 1000,
                               "contact_limit": 1000, "template_limit": 50, "api_key_limit": 5,
                               "messages_per_second": 80}, admin, (201,))
owner = "fuzz-owner@tenant.test"
call("POST", "/admin/tenants", {"name": "Fuzz tenant", "slug": "fuzz-tenant", "admin_email": owner,
                                "admin_name": "Owner", "plan_id": plan["id"]}, admin, (201,))
one_time = None
for _ in range(200):
    for path in pathlib.Path(outbox).glob("**/*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if owner not in str(msg["to"]):
            continue
        text = msg.get_body(preferencelist=("plain",)).get_content()
        one_time = next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("One-time password:"))
    if one_time:
        break
    time.sleep(0.05)
assert one_time, "no welcome email"
first = login(owner, one_time)
new_password = "fuzz tenant password 0123"
call("POST", "/auth/change-password", {"current_password": one_time, "new_password": new_password}, first, (204,))
tenant = login(owner, new_password)
call("POST", "/whatsapp/connect", {"code": "fuzz-signup-code"}, tenant)
template = call("POST", "/templates", {"name": "fee_reminder", "language": "en", "category": "UTILITY", "components": [
    {"type": "BODY", "text": "Hi {{1}}, your fee of INR {{2}} is due on {{3}}.",
     "example": {"body_text": [["Asha", "12,500", "30 Nov"]]}}]}, tenant, (201,))
for _ in range(300):
    if call("GET", "/templates/" + template["id"], token=tenant)["status"] == "APPROVED":
        break
    time.sleep(0.05)
else:
    raise SystemExit("the fuzz template was not approved")
# A few contacts, so the documented POST /campaigns example (audience `all`, `{{contact.name}}`)
# gets past `empty_audience` into the quota reservation and the fan-out; the last one lacks a
# name (a skipped recipient) and one has opted out.
for i, (name, opted_out) in enumerate([("Asha", False), ("Ravi", False), ("Meera", True), (None, False)]):
    body = {"phone": "+9198765400%02d" % i, "tags": ["vip"], "attributes": {"fee": "12,500"}}
    if name:
        body["name"] = name
    contact = call("POST", "/contacts", body, tenant, (201,))
    if opted_out:
        call("PATCH", "/contacts/" + contact["id"], {"opted_out": True}, tenant)
api_key = call("POST", "/api-keys", {"name": "Fuzz"}, tenant, (201,))["key"]
# A session only for the /auth/* run (its logout ends it).
auth_session = login(admin_email, admin_password)
print(admin)
print(tenant)
print(api_key)
print(auth_session)
PY
admin_token=$(sed -n 1p "$work/tokens")
tenant_token=$(sed -n 2p "$work/tokens")
api_key=$(sed -n 3p "$work/tokens")
auth_token=$(sed -n 4p "$work/tokens")

echo "==> API fuzz: validating the served OpenAPI document"
curl -fsS "$base/openapi.json" -o "$work/openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"
# Fuzz without the optional Idempotency-Key header: generated keys repeat (the documented example,
# short strings), so most POSTs would only meet 409 idempotency_key_reused and never reach their
# handler. Idempotency has its own HTTP tests.
"$venv/bin/python" - "$work/openapi.json" "$work/fuzz-openapi.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ref = {"$ref": "#/components/parameters/IdempotencyKey"}
for item in doc["paths"].values():
    for op in item.values():
        if isinstance(op, dict) and "parameters" in op:
            op["parameters"] = [p for p in op["parameters"] if p != ref]
json.dump(doc, open(sys.argv[2], "w"))
PY

fuzz() {
  local who="$1" credential="$2"
  shift 2
  echo "==> API fuzz: schemathesis as $who (max $max_examples examples per operation)"
  "$venv/bin/schemathesis" run "$work/fuzz-openapi.json" --url "$base" \
    --checks not_a_server_error \
    --header "$credential" \
    --max-examples "$max_examples" \
    --workers 2 \
    --request-timeout 30 \
    --seed 20261121 \
    --suppress-health-check all \
    --warnings off \
    --no-color \
    "$@" || fail "schemathesis found a server error as $who (see above)"
}
# The API key first (the tenant's run may revoke keys or use up the plan's key limit), then the
# tenant: the super admin's run may suspend that tenant (PATCH /admin/tenants/{id} with ids it
# finds in the list) or change its plan.
fuzz "API key" "x-api-key: $api_key" --include-path-regex '^/api/v1/'
fuzz "tenant admin" "Authorization: Bearer $tenant_token" --exclude-path-regex '^/(plans|admin|api/v1|auth)'
fuzz "super admin" "Authorization: Bearer $admin_token" --include-path-regex '^/(plans|admin)'
# Sign-in, logout, password change, forgotten and reset passwords: last, with their own session.
fuzz "auth routes" "Authorization: Bearer $auth_token" --include-path-regex '^/auth/'
echo "==> API fuzz: no server errors"
