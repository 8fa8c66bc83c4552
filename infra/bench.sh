#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail tests). Usage: infra/bench.sh coldstart | import [--rows N] | fanout [--recipients N]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-coldstart}" in
  coldstart)
    shift || true
    pkgs=$(for d in functions/*/; do printf -- '-p %s ' "$(basename "$d")"; done)
    # shellcheck disable=SC2086
    cargo build --release --quiet $pkgs -p miping-bench
    target="${CARGO_TARGET_DIR:-target}"
    "$target/release/miping-bench" coldstart "$@"
    ;;
  webhooks)
    shift || true
    cargo build --release --quiet -p miping-bench
    "${CARGO_TARGET_DIR:-target}/release/miping-bench" webhooks "$@"
    ;;
  import)
    shift || true
    cargo build --release --quiet -p miping-bench
    target="${CARGO_TARGET_DIR:-target}"
    "$target/release/miping-bench" import "$@"
    ;;
  fanout)
    shift || true
    cargo build --release --quiet -p miping-bench
    "${CARGO_TARGET_DIR:-target}/release/miping-bench" fanout "$@"
    ;;
  *) echo "usage: infra/bench.sh coldstart [--runs N] [FUNCTION...] | webhooks [--seconds N] [--clients N] | import [--rows N] | fanout [--recipients N]"; exit 2 ;;
esac
