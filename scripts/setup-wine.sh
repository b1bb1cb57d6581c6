#!/usr/bin/env bash
# Prepares Wine for testing the Windows assistant.exe on Linux.
#  - installs Debian `wine` + `wine64` when missing (quietly, apt-get update once, as root or through sudo);
#  - creates a dedicated prefix (default .cache/wine, override with WINEPREFIX) reporting Windows 10, because
#    node.exe 22 refuses to start on the Windows 7 a fresh prefix reports.
# Idempotent: a second run only checks. Prints the prefix path on stdout, progress on stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export WINEPREFIX=${WINEPREFIX:-$root/.cache/wine}
export WINEDEBUG=-all
# No Mono/Gecko download prompts during wineboot (the assistant needs neither).
export WINEDLLOVERRIDES="mscoree,mshtml="
# No X server is needed for console programs.
unset DISPLAY WAYLAND_DISPLAY || true

log() { echo "setup-wine: $*" >&2; }

# 1. Packages --------------------------------------------------------------------------------------
if ! command -v wine >/dev/null 2>&1 || ! { command -v wine64 >/dev/null 2>&1 || [ -x /usr/lib/wine/wine64 ]; }; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "wine is missing and this is not root (no sudo)"; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  log "installing wine, wine64 (~700 MB, a few minutes)"
  start=$(date +%s)
  # apt may be locked by another install for a moment: wait for the lock (apt >= 1.9 option) and retry a few times.
  apt_opts=(-o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
  tries=0
  until $sudo apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null &&
    $sudo apt-get install "${apt_opts[@]}" wine wine64 >/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -lt 5 ] || { log "apt-get failed $tries times"; exit 1; }
    log "apt-get failed (lock?), retrying in 10 s"
    sleep 10
  done
  log "wine installed in $(($(date +%s) - start)) s"
fi

# 2. Prefix ----------------------------------------------------------------------------------------
stamp="$WINEPREFIX/.lifeboat-win10"
if [ ! -f "$stamp" ] || [ ! -f "$WINEPREFIX/system.reg" ]; then
  log "creating prefix $WINEPREFIX"
  start=$(date +%s)
  mkdir -p "$WINEPREFIX"
  wine wineboot --init >/dev/null 2>&1
  wine winecfg -v win10 >/dev/null 2>&1
  # Wait for wineserver to flush the registry to disk before anything else looks at the prefix.
  wineserver -w
  if ! grep -q '"ProductName"=".*Windows 10' "$WINEPREFIX/system.reg"; then
    log "prefix does not report Windows 10 after winecfg -v win10"
    exit 1
  fi
  touch "$stamp"
  log "prefix ready in $(($(date +%s) - start)) s"
fi

echo "$WINEPREFIX"
