#!/usr/bin/env bash
# Installs what mcptt-sdk needs on a fresh Debian machine, then the npm dependencies.
# Debian packages: chromium (browser tests and benchmarks; Playwright drives /usr/bin/chromium,
# never a downloaded browser) and Kamailio with its WebSocket modules (the SIP core of the
# dev MCPTT system; the dev stack runs it as a child process, never as a system service).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/sbin/kamailio ] || need+=(kamailio)
dpkg -s kamailio-websocket-modules >/dev/null 2>&1 || need+=(kamailio-websocket-modules)
dpkg -s kamailio-tls-modules >/dev/null 2>&1 || need+=(kamailio-tls-modules)
command -v openssl >/dev/null 2>&1 || need+=(openssl)

if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

npm ci --no-audit --no-fund
