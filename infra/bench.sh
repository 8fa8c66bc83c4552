#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail tests). Usage: infra/bench.sh coldstart | import [--rows N]
set -euo pipefail
cd "$(dirname "$0")/.."
# Release binaries as infra/release.sh builds them (aws-lc without CPU jitter entropy: see there).
export AWS_LC_SYS_NO_JITTER_ENTROPY="${AWS_LC_SYS_NO_JITTER_ENTROPY:-1}"
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
  *) echo "usage: infra/bench.sh coldstart [--runs N] [FUNCTION...] | webhooks [--seconds N] [--clients N] | import [--rows N]"; exit 2 ;;
esac
