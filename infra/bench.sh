#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail tests). Usage: infra/bench.sh coldstart | webhooks | import [--rows N] | sending | fanout [--recipients N] | login | console | inbox | hotkeys | media | intake
set -euo pipefail
cd "$(dirname "$0")/.."
# Lambda binaries as infra/release.sh builds them (`--release`; aws-lc without CPU jitter entropy:
# see there); the local process and the bench itself in the `local` profile, as the README's run
# command builds the local process.
export AWS_LC_SYS_NO_JITTER_ENTROPY="${AWS_LC_SYS_NO_JITTER_ENTROPY:-1}"
case "${1:-coldstart}" in
  coldstart)
    shift || true
    # Each function alone, as deployed (infra/release.sh, sam build): cargo unifies a package's
    # features across one invocation, so built together each would get the union of their
    # `miping` features (and with the bench, its `miping/embedded`).
    # Each from its own folder, so that its .cargo/config.toml applies (as infra/release.sh).
    for d in functions/*/; do
      (cd "$d" && cargo build --release --quiet -p "$(basename "$d")")
    done
    cargo build --profile local --quiet -p miping-bench
    target="${CARGO_TARGET_DIR:-target}"
    "$target/local/miping-bench" coldstart "$@"
    ;;
  webhooks)
    shift || true
    cargo build --profile local --quiet -p miping-bench
    "${CARGO_TARGET_DIR:-target}/local/miping-bench" webhooks "$@"
    ;;
  import)
    shift || true
    cargo build --profile local --quiet -p miping-bench
    target="${CARGO_TARGET_DIR:-target}"
    "$target/local/miping-bench" import "$@"
    ;;
  sending)
    # pacing at 80 and 1,000 msg/s, then a second tenant's latency behind a big campaign.
    shift || true
    nice -n 19 cargo build --profile local --quiet -p miping-bench
    bench="${CARGO_TARGET_DIR:-target}/local/miping-bench"
    if [ $# -gt 0 ]; then "$bench" sending "$@"; exit; fi
    "$bench" sending pacing --rate 80 --messages 5000
    "$bench" sending pacing --rate 1000 --messages 20000
    "$bench" sending fairness --backlog 20000 --seconds 30
    ;;
  fanout)
    shift || true
    nice -n 19 cargo build --profile local --quiet -p miping-bench
    "${CARGO_TARGET_DIR:-target}/local/miping-bench" fanout "$@"
    ;;
  login)
    # /health alone and during a 60-client sign-in storm, with the argon2 bound and without it.
    shift || true
    nice -n 19 cargo build --profile local --quiet -p miping-bench
    bench="${CARGO_TARGET_DIR:-target}/local/miping-bench"
    if [ $# -gt 0 ]; then "$bench" login "$@"; exit; fi
    "$bench" login
    MIPING_HASH_CONCURRENCY=64 "$bench" login
    ;;
  console)
    # every console page at 8 signed-in users, and a first visit's bytes.
    shift || true
    nice -n 19 cargo build --profile local --quiet -p miping-bench
    "${CARGO_TARGET_DIR:-target}/local/miping-bench" console "$@"
    ;;
  inbox)
    # a customer's message from the simulated webhook to the open inbox's polled fragment.
    shift || true
    nice -n 19 cargo build --profile local --quiet -p miping-bench
    "${CARGO_TARGET_DIR:-target}/local/miping-bench" inbox "$@"
    ;;
  hotkeys)
    # one tenant at 1,000 msg/s with its webhooks: writes per item key and per partition of the
    # table and of each index, counted on the table port.
    shift || true
    nice -n 19 cargo build --profile local --quiet -p miping-bench
    "${CARGO_TARGET_DIR:-target}/local/miping-bench" hotkeys "$@"
    ;;
  media)
    # inbound photos from the webhook to a stored file (100, one at a time, then at once), and a
    # 100 MB document's upload (direct PUT and POST /media).
    shift || true
    nice -n 19 cargo build --profile local --quiet -p miping-bench
    "${CARGO_TARGET_DIR:-target}/local/miping-bench" media "$@"
    ;;
  intake)
    # POST /messages, trigger-message and webhooks at 16 connections on the release `miping`
    # process; then SIGKILL, restart on the same data and count what survived. With --callgrind:
    # instructions per request under valgrind instead (build with CARGO_PROFILE_LOCAL_STRIP=false
    # to annotate them by function).
    shift || true
    nice -n 19 cargo build --profile local --quiet -p miping-local -p miping-bench
    "${CARGO_TARGET_DIR:-target}/local/miping-bench" intake "$@"
    ;;
  *) echo "usage: infra/bench.sh coldstart [--runs N] [FUNCTION...] | webhooks [--seconds N] [--clients N] | import [--rows N] | sending [pacing|fairness ...] | fanout [--recipients N] | login [--seconds N] [--logins N] | console [--seconds N] [--users N] | inbox [--messages N] [--customers N] | hotkeys [--rate R] [--messages N] | media [--images N] [--document-mb N] | intake [--seconds N] [--connections C] [--callgrind [--requests N]]"; exit 2 ;;
esac
