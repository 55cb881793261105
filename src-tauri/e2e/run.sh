#!/usr/bin/env bash
# Real-app end-to-end test (acceptance check 2): builds the desktop app, starts Xvfb and
# tauri-driver 2.1.0 (installed once into $RADDRAFT_TOOLS, default ~/.cache/raddraft-tools), and
# runs e2e.test.mjs against a fresh database. Screenshots: $RADDRAFT_E2E_SCREENSHOTS, default
# target/e2e-screenshots/. Needs the Debian packages xvfb, webkit2gtk-driver and imagemagick
# (scripts/bootstrap.sh) and a built ui/dist.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-$PWD/target}
tools=${RADDRAFT_TOOLS:-$HOME/.cache/raddraft-tools}
[ -x "$tools/bin/tauri-driver" ] ||
  cargo install tauri-driver --version 2.1.0 --locked --root "$tools"
# The binary `cargo test` builds (test profile): after scripts/test.sh's cargo test this is a no-op,
# where a plain `cargo build` would compile the workspace a second time in the dev profile.
cargo test -p raddraft-desktop --no-run --locked -q
NPM_CONFIG_CACHE=${NPM_CONFIG_CACHE:-$HOME/.cache/raddraft-npm} \
  npm ci --prefix src-tauri/e2e --no-audit --no-fund --loglevel=error

work=$(mktemp -d)
pids=()
cleanup() {
  # SIGTERM, not SIGKILL: tauri-driver stops its WebKitWebDriver child only on a catchable signal.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
display=":$(tr -d '[:space:]' <"$work/display")"
[ "$display" != ":" ] || { cat "$work/xvfb.log" >&2; echo "Xvfb did not start" >&2; exit 1; }

DISPLAY=$display RADDRAFT_DB="$work/raddraft.db" RADDRAFT_DESKTOP_CONFIG="$work/config" \
  "$tools/bin/tauri-driver" --port 4444 --native-port 4445 >"$work/tauri-driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -fsS http://127.0.0.1:4444/status >/dev/null 2>&1 && break
  sleep 0.1
done

set +e
DISPLAY=$display RADDRAFT_DESKTOP_BIN="$target/debug/raddraft-desktop" RADDRAFT_E2E_WORK="$work" \
  npm test --prefix src-tauri/e2e
status=$?
set -e
[ "$status" -eq 0 ] || { echo "--- tauri-driver log" >&2; tail -n 40 "$work/tauri-driver.log" >&2; }
exit "$status"
