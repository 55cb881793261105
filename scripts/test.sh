#!/usr/bin/env bash
# Runs every default test suite: formatting, lints, and all workspace tests.
# Heavy suites (benchmarks, fuzzing) have their own commands; see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
# The shared target directory keeps the test executables of every earlier build (up to ~600 MB
# each), so a warm machine's disk fills over many runs. Those superseded by a build of the same
# name more than an hour newer are removed; a package's lib and bin tests share a name, and both
# are rebuilt in the same run.
deps="$CARGO_TARGET_DIR/debug/deps"
if [ -d "$deps" ]; then
  find "$deps" -maxdepth 1 -type f -perm -u+x -regextype posix-extended -regex '.*/[^/.]+-[0-9a-f]{16}' \
    -printf '%T@\t%p\n' | sort -rn |
    awk -F '\t' '{ name = $2; sub(/-[0-9a-f]+$/, "", name)
                   if (!(name in newest)) newest[name] = $1; else if ($1 < newest[name] - 3600) print $2 }' |
    tr '\n' '\0' | xargs -0 -r rm -f --
fi
# Real CR radiographs (pydicom-data wheel) for the DICOM tests; they skip, saying so, without it.
[ -f "${RADDRAFT_PYDICOM_DATA:-$HOME/.cache/raddraft/pydicom-data}/RG1_UNCR.dcm" ] ||
  tests/fixtures/dicom/fetch_pydicom_data.sh || echo "pydicom-data unavailable: real-radiograph tests will skip" >&2
# playwright-core (pinned in tests/html/package-lock.json) drives Debian's chromium for the HTML results page test.
npm ci --prefix tests/html --no-audit --no-fund --loglevel=error
# The desktop front end: ui/dist is the Tauri shell's frontendDist, so it is built before any cargo step.
ui_npm_cache=${NPM_CONFIG_CACHE:-$HOME/.cache/raddraft-npm}
NPM_CONFIG_CACHE=$ui_npm_cache npm ci --prefix ui --no-audit --no-fund --loglevel=error
npm run --prefix ui build
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -q -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# ui/ tests: playwright-core drives Debian's chromium over the built app with the Tauri IPC mocked.
npm test --prefix ui 2>&1 | tee -a "$log"
ui_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$ui_status
# The real desktop app under Xvfb (tauri-driver + WebKitWebDriver): import, draft, edit, sign,
# export, with screenshots in target/e2e-screenshots/ (src-tauri/e2e/run.sh).
RADDRAFT_E2E_SCREENSHOTS=${RADDRAFT_E2E_SCREENSHOTS:-$PWD/target/e2e-screenshots} src-tauri/e2e/run.sh 2>&1 | tee -a "$log"
e2e_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$e2e_status
set -e
# One closing line for the whole run (cargo prints one result line per test binary; node's test
# runner closes with "# pass N", "# fail N", "# cancelled N", "# skipped N").
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
     /^# pass [0-9]+$/ { passed += $3 } /^# (fail|cancelled) [0-9]+$/ { failed += $3 } /^# (skipped|todo) [0-9]+$/ { ignored += $3 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
exit "$status"
