#!/usr/bin/env bash
# Real-app end-to-end test (acceptance checks 2, 3 and 6): builds the desktop app, starts Xvfb and
# tauri-driver 2.1.0 (driver.sh; tauri-driver is installed once into $RADDRAFT_TOOLS, default
# ~/.cache/raddraft-tools), and runs e2e.test.mjs against a fresh database. Screenshots and the
# responsiveness and cold-start figures: $RADDRAFT_E2E_SCREENSHOTS, default target/e2e-screenshots/.
# Needs the Debian packages xvfb, webkit2gtk-driver and imagemagick (scripts/bootstrap.sh) and a
# built ui/dist.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-$PWD/target}
. src-tauri/e2e/driver.sh
# The binary `cargo test` builds (test profile): after scripts/test.sh's cargo test this is a no-op,
# where a plain `cargo build` would compile the workspace a second time in the dev profile.
cargo test -p raddraft-desktop --no-run --locked -q
e2e_prepare

work=$(mktemp -d)
cleanup() {
  e2e_stop
  rm -rf "$work"
}
trap cleanup EXIT
e2e_start "$work" "$work/raddraft.db"

set +e
RADDRAFT_DESKTOP_BIN="$target/debug/raddraft-desktop" RADDRAFT_E2E_WORK="$work" \
  npm test --prefix src-tauri/e2e
status=$?
set -e
[ "$status" -eq 0 ] || { echo "--- tauri-driver log" >&2; tail -n 40 "$work/tauri-driver.log" >&2; }
exit "$status"
