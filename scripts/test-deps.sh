#!/usr/bin/env bash
# What the tests need beyond PyPI: Debian's chromium and its chromedriver, for the review
# app's end-to-end test. Installed only where missing; without root or sudo, say what is
# missing and go on (that test is then skipped, except under .ci/run, which requires it).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
bash "$(dirname "$0")/apt-install.sh" "for the browser test" "${need[@]}"
