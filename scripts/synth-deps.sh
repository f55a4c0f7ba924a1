#!/usr/bin/env bash
# What rebuilding eval/unseen (eval/make_cases.py --unseen) needs beyond PyPI: the CJK fonts
# Debian ships, and LibreOffice and Chromium to lay reports out in them. `make test` runs it
# too, so that the tests that render reports in these fonts (layout programs, page breaks) run
# on a fresh machine instead of skipping; `make demo` reads the committed split and needs
# none of it. Installed only where missing; without root or sudo, say what is missing and go on.
set -euo pipefail
need=()
for package in fonts-noto-cjk fonts-arphic-uming fonts-arphic-ukai fonts-wqy-zenhei fonts-wqy-microhei; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || need+=("$package")
done
command -v fc-match >/dev/null 2>&1 || need+=(fontconfig)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
bash "$(dirname "$0")/apt-install.sh" "to rebuild eval/unseen" "${need[@]}"
