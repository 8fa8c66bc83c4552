#!/usr/bin/env bash
# Release build of every Lambda for arm64 (Graviton, provided.al2023): one zip per function in
# dist/<function>.zip, each holding the `bootstrap` executable Lambda runs.
#
#   infra/release.sh                # every function under functions/
#   infra/release.sh auth-api ...   # only these
#
# Tools come from PyPI into .venv-release (pinned in infra/requirements-release.txt): cargo-lambda
# and zig (the cross linker; no Docker, no system cross toolchain). After the first run (tools,
# rustup target and crates fetched) it works offline. CPU heavy: run it under `nice` on shared
# machines. CARGO_TARGET_DIR is honoured (cargo-lambda 1.9 rejects --target-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_triple=aarch64-unknown-linux-gnu

# --- tools (pinned, installed once) ------------------------------------------------------
venv="$root/.venv-release"
if [ ! -x "$venv/bin/cargo-lambda" ] || ! "$venv/bin/python" -c "import ziglang" 2>/dev/null || ! cmp -s infra/requirements-release.txt "$venv/.requirements"; then
  echo "==> installing cargo-lambda and zig from PyPI into .venv-release"
  python3 -m venv "$venv"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-release.txt; then
    echo "error: could not install infra/requirements-release.txt from PyPI (offline?). Run once with network access." >&2
    exit 1
  fi
  cp infra/requirements-release.txt "$venv/.requirements"
fi
# cargo-lambda finds zig as `python -m ziglang` (the ziglang wheel) or `zig` on PATH.
export PATH="$venv/bin:$PATH"

# --- the arm64 standard library ------------------------------------------------------------
if ! rustup target list --installed | grep -qx "$target_triple"; then
  echo "==> adding rustup target $target_triple"
  if ! rustup target add "$target_triple"; then
    echo "error: the Rust standard library for $target_triple is not installed and could not be downloaded." >&2
    echo "       Run 'rustup target add $target_triple' once with network access, then re-run this script." >&2
    exit 1
  fi
fi

# --- build ---------------------------------------------------------------------------------
if [ "$#" -gt 0 ]; then
  functions=("$@")
else
  functions=()
  for dir in functions/*/; do
    [ -f "$dir/Cargo.toml" ] && functions+=("$(basename "$dir")")
  done
fi
for f in "${functions[@]}"; do
  [ -f "functions/$f/Cargo.toml" ] || { echo "error: no function functions/$f" >&2; exit 2; }
done

# aws-lc-sys build switch: without CPU jitter entropy aws-lc seeds its DRBG from the OS (getrandom)
# and the CPU's RNG. With it, the first random bytes of a process (the first TLS handshake) cost
# ~35 ms: measured with infra/bench.sh coldstart (README). It has no effect at run time.
export AWS_LC_SYS_NO_JITTER_ENTROPY="${AWS_LC_SYS_NO_JITTER_ENTROPY:-1}"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
echo "==> cargo lambda build --release --arm64 (${#functions[@]} functions, target dir $target_dir)"
# One build per function, as `sam build` does: cargo unifies a package's features across every
# package of one invocation, so building them together would link each function with the union
# of all their `miping` features (the S3 client and aws-sdk-sesv2 into functions that use neither,
# ~1 MB each). Dependencies are still compiled once per distinct feature set.
# --locked: a release is built from exactly the committed Cargo.lock. Each from its own folder, as
# SAM does for the ones whose CodeUri is theirs: cargo then reads that folder's .cargo/config.toml
# (the console's functions abort on panic; the workspace's release profile unwinds).
for p in "${functions[@]}"; do
  (cd "functions/$p" && cargo lambda build --release --arm64 --locked --output-format zip -p "$p")
done

# --- collect zips --------------------------------------------------------------------------
mkdir -p dist
printf '%-22s %12s %12s\n' function "bootstrap MB" "zip MB"
for f in "${functions[@]}"; do
  zip="$target_dir/lambda/$f/bootstrap.zip"
  [ -f "$zip" ] || { echo "error: $zip was not produced" >&2; exit 1; }
  cp "$zip" "dist/$f.zip"
  unzipped=$(python3 -c 'import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "dist/$f.zip")
  zipped=$(stat -c %s "dist/$f.zip")
  awk -v f="$f" -v u="$unzipped" -v z="$zipped" 'BEGIN { printf "%-22s %12.2f %12.2f\n", f, u / 1e6, z / 1e6 }'
done
echo "==> dist/: ${#functions[@]} arm64 zips (each holds bootstrap); deploy with 'sam build && sam deploy' or upload directly"
