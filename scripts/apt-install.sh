#!/usr/bin/env bash
# apt-install.sh WHAT-FOR PACKAGE...: install Debian packages as root or through sudo; with
# neither, say what is missing and what it is for, and go on (exit 0).
set -euo pipefail
what_for=$1; shift
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "nianbao: please install $* (apt-get) $what_for" >&2; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
