#!/usr/bin/env bash
# Installs what building and testing raddraft needs on Debian: the Rust toolchain (if absent) and
# the Debian packages listed below. Safe to run repeatedly; installs only what is missing.
# Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail

APT_PACKAGES=(
  pkg-config   # native -sys crates
  cmake g++    # CharLS (JPEG-LS) codec, built from source by the charls crate
  python3 python3-pip  # fetching the pydicom-data wheel of real radiographs for the DICOM tests
  postgresql   # study store tests start a throwaway PostgreSQL server (core/tests/store_postgres.rs)
  dicom3tools dcmtk poppler-utils  # report export tests: dciodvfy, dsrdump/dcm2pdf, pdftotext
  chromium nodejs      # headless chromium: the HTML results page (tests/html) and the UI tests (ui/)
  # the Tauri 2 desktop shell (src-tauri/): WebKitGTK and the libraries tauri links or loads
  libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver imagemagick  # its end-to-end test: Xvfb, WebKitWebDriver, screenshot checks
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing_apt_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

ensure_rust() {
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  if ! command -v cargo >/dev/null 2>&1; then
    install_missing_apt_packages curl ca-certificates
    echo "installing the Rust toolchain with rustup" >&2
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt >&2
    . "$HOME/.cargo/env"
  fi
}

install_missing_apt_packages "${APT_PACKAGES[@]}"
# Debian packages npm apart from nodejs; NodeSource's nodejs already brings it (and conflicts with it).
command -v npm >/dev/null 2>&1 || install_missing_apt_packages npm
ensure_rust
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}
