#!/usr/bin/env bash
# install-browser.sh — make sure Debian's chromium is at /usr/bin/chromium.
#
# Used by `make test` before the browser tests. Idempotent and silent when
# chromium is already installed. Installs only from Debian's apt mirrors;
# never downloads a browser any other way (no `playwright install`).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
PACKAGES=(chromium fonts-dejavu-core)

if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-browser: $CHROMIUM is missing and we are not root; run: sudo apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists only when apt does not know the package yet
# (e.g. a fresh container whose /var/lib/apt/lists was cleaned).
if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -qq
fi

# apt/debconf chatter goes to a log that is shown only if the install fails.
LOG="$(mktemp "${TMPDIR:-/tmp}/install-browser.XXXXXX")"
trap 'rm -f "$LOG"' EXIT
install_packages() {
    apt-get install -y -qq "${PACKAGES[@]}" >"$LOG" 2>&1
}

if ! install_packages; then
    # Stale lists can point at versions the mirror no longer has: refresh once and retry.
    apt-get update -qq
    if ! install_packages; then
        tail -n 20 "$LOG" >&2
        echo "install-browser: apt-get install ${PACKAGES[*]} failed" >&2
        exit 1
    fi
fi

if [[ ! -x "$CHROMIUM" ]]; then
    echo "install-browser: apt-get installed ${PACKAGES[*]} but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
