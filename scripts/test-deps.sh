#!/usr/bin/env bash
# What the tests need beyond PyPI: Debian's chromium and its chromedriver, for the review
# app's end-to-end test. Installed only where missing; without root or sudo, say what is
# missing and go on (that test is then skipped, except under .ci/run, which requires it).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "nianbao: please install ${need[*]} (apt-get) for the browser test" >&2; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
