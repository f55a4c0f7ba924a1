#!/usr/bin/env bash
# System packages nianbao uses beyond PyPI: LibreOffice to read DOC/WPS files, and the GL
# and GLib runtime libraries that OpenCV's wheel loads.
# Installed only where missing; without root or sudo, say what is missing and go on
# (DOC/WPS files then get a clear `missing_tool` error record).
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
ldconfig -p 2>/dev/null | grep 'libGL.so.1 ' >/dev/null || need+=(libgl1)
ldconfig -p 2>/dev/null | grep 'libgthread-2.0.so.0 ' >/dev/null || need+=(libglib2.0-0)
[ ${#need[@]} -eq 0 ] && exit 0
bash "$(dirname "$0")/apt-install.sh" "to read DOC/WPS files" "${need[@]}"
