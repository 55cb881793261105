# Sourced (bash) by src-tauri/e2e/run.sh and bench/desktop/cold_start.sh, from the repository root:
# the pieces for driving the real app under Xvfb through tauri-driver 2.1.0 + WebKitWebDriver.
#
#   e2e_prepare                # tauri-driver into $RADDRAFT_TOOLS (default ~/.cache/raddraft-tools),
#                              # the WebdriverIO packages into src-tauri/e2e/node_modules
#   e2e_start WORK DB          # Xvfb, then tauri-driver on port 4444 with the app's database DB and
#                              # settings in WORK/config; exports DISPLAY, logs in WORK
#   e2e_stop                   # stops both (call it from an EXIT trap)
#
# Needs the Debian packages xvfb, webkit2gtk-driver and curl (scripts/bootstrap.sh).

e2e_tools=${RADDRAFT_TOOLS:-$HOME/.cache/raddraft-tools}
e2e_pids=()

e2e_prepare() {
  [ -x "$e2e_tools/bin/tauri-driver" ] ||
    cargo install tauri-driver --version 2.1.0 --locked --root "$e2e_tools"
  NPM_CONFIG_CACHE=${NPM_CONFIG_CACHE:-$HOME/.cache/raddraft-npm} \
    npm ci --prefix src-tauri/e2e --no-audit --no-fund --loglevel=error
}

e2e_start() { # WORK DB
  local work=$1 db=$2 display
  Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
  e2e_pids+=($!)
  for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
  display=":$(tr -d '[:space:]' <"$work/display")"
  [ "$display" != ":" ] || { cat "$work/xvfb.log" >&2; echo "Xvfb did not start" >&2; return 1; }
  export DISPLAY=$display

  RADDRAFT_DB=$db RADDRAFT_DESKTOP_CONFIG="$work/config" \
    "$e2e_tools/bin/tauri-driver" --port 4444 --native-port 4445 >"$work/tauri-driver.log" 2>&1 &
  e2e_pids+=($!)
  for _ in $(seq 300); do
    curl -fsS http://127.0.0.1:4444/status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 40 "$work/tauri-driver.log" >&2
  echo "tauri-driver did not start" >&2
  return 1
}

e2e_stop() {
  # SIGTERM, not SIGKILL: tauri-driver stops its WebKitWebDriver child only on a catchable signal.
  local pid
  for pid in "${e2e_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${e2e_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  e2e_pids=()
}
