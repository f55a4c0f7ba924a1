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
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "nianbao: please install ${need[*]} (apt-get) to read DOC/WPS files" >&2; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
