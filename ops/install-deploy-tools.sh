#!/usr/bin/env bash
# install-deploy-tools.sh — make sure the tools the deployment-file tests run are here:
#   /usr/sbin/nginx            (Debian's nginx-light) for tests/integration/test_nginx_proxy.py,
#                              which runs the shipped ops/nginx/data-collector.conf on loopback;
#   /usr/bin/systemd-analyze   (Debian's systemd) for tests/unit/ops/test_systemd_units.py.
#
# Used by `make test`. Idempotent and silent when both are installed. Installs only
# from Debian's apt mirrors. The nginx test starts its own nginx with its own prefix
# and configuration; the packaged service is never started or used.
set -euo pipefail

# binary -> Debian package (nginx-light has what the shipped config uses: ssl, http2,
# limit_req, map, gzip, upstream keepalive)
declare -A PACKAGE_OF=(
    [/usr/sbin/nginx]=nginx-light
    [/usr/bin/systemd-analyze]=systemd
)

missing=()
for binary in "${!PACKAGE_OF[@]}"; do
    [[ -x "$binary" ]] || missing+=("${PACKAGE_OF[$binary]}")
done
if (( ${#missing[@]} == 0 )); then
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-deploy-tools: missing; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists only when apt does not know a package yet.
for package in "${missing[@]}"; do
    if ! apt-cache show "$package" >/dev/null 2>&1; then
        apt-get update -qq
        break
    fi
done

LOG="$(mktemp "${TMPDIR:-/tmp}/install-deploy-tools.XXXXXX")"
trap 'rm -f "$LOG"' EXIT
install_packages() {
    apt-get install -y -qq "${missing[@]}" >"$LOG" 2>&1
}

if ! install_packages; then
    # Stale lists can point at versions the mirror no longer has: refresh once and retry.
    apt-get update -qq
    if ! install_packages; then
        tail -n 20 "$LOG" >&2
        echo "install-deploy-tools: apt-get install ${missing[*]} failed" >&2
        exit 1
    fi
fi

for binary in "${!PACKAGE_OF[@]}"; do
    if [[ ! -x "$binary" ]]; then
        echo "install-deploy-tools: apt-get installed ${missing[*]} but $binary is still missing" >&2
        exit 1
    fi
done
echo "install-deploy-tools: installed ${missing[*]}"
