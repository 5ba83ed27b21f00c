#!/usr/bin/env bash
# Installs the Debian packages weft builds and tests with, when missing.
# Needs root (or sudo) only when something is missing.
set -u
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in build-essential pkg-config libunwind-dev libdw-dev libelf-dev libncurses-dev libsqlite3-dev \
         python3-dev sqlite3 tmux bc valgrind clang-format; do
	have "$p" || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "weft: installing missing Debian packages: ${need[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null || {
	echo "weft: could not install ${need[*]}; install them and run make again" >&2
	exit 1
}
