#!/usr/bin/env bash
# Debian packages some tests need. Installed only when missing; never required for `make demo`.
set -euo pipefail
need=()
# headless Chromium for the console's browser tests (Playwright drives Debian's chromium)
if [ "${C360_NEED_BROWSER:-0}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then need+=(chromium); fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
