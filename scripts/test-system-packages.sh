#!/usr/bin/env bash
# Makes sure the programs the test suite drives for real are on this machine, installing Debian's
# packages for whatever is missing: socat (serial lines over pseudo-terminals), Mosquitto (the
# store broker), PostgreSQL's server binaries (the centre's production ledger), systemd-analyze
# (the shipped units), Debian's Chromium (the staff status page), promtool (the shipped alert
# rules, from the prometheus package), the C toolchain (the reader firmware and native
# addons), libsodium's headers (libsodium-dev: the reader firmware's secure session) and
# dpkg-dev (the store package: dpkg-deb, dpkg-shlibdeps). A machine that has them
# all is left untouched and nothing is printed. Without root it uses sudo when it may run
# without a password, and otherwise stops with the one command to run.
set -euo pipefail

# The first directory holding both initdb and postgres, searched the way
# src/rigs/database/postgres-server.ts searches: PATH, then /usr/lib/postgresql/<version>/bin (newest
# first), where Debian keeps them off PATH.
postgres_bin_dir() {
  local dir dirs
  IFS=: read -ra dirs <<< "$PATH"
  while IFS= read -r dir; do dirs+=("$dir"); done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV)
  for dir in "${dirs[@]}"; do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return 0
    fi
  done
}

export PATH="$PATH:/usr/sbin:/sbin"

# Each program the tests need, beside the Debian package that brings it.
declare -A package_of=(
  [python3]=python3 [make]=make [g++]=g++ [cc]=gcc [socat]=socat
  [mosquitto]=mosquitto [mosquitto_passwd]=mosquitto [systemd-analyze]=systemd
  [promtool]=prometheus
  [dpkg-deb]=dpkg [dpkg-shlibdeps]=dpkg-dev
)
missing=()
for tool in "${!package_of[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
[ -n "$(postgres_bin_dir)" ] || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -f /usr/include/sodium.h ] || missing+=(libsodium-dev)
[ "${#missing[@]}" -eq 0 ] && exit 0

mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
command_line="apt-get update && apt-get install -y ${packages[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test setup: missing ${packages[*]} and this is not a Debian machine (no apt-get); install the equivalent packages and run the tests again" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "test setup: the tests need Debian packages that are missing: ${packages[*]}" >&2
    echo "test setup: run as root (or with sudo): $command_line" >&2
    exit 1
  fi
fi
echo "test setup: installing ${packages[*]} (Debian packages the tests run for real)" >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
# The tests start their own broker and database servers on free ports; the packaged services
# would only hold ports and memory, so they are stopped and kept from starting again.
if command -v systemctl >/dev/null 2>&1; then
  "${as_root[@]}" systemctl disable --now mosquitto >/dev/null 2>&1 || true
  "${as_root[@]}" systemctl disable --now postgresql >/dev/null 2>&1 || true
  "${as_root[@]}" systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi

still_missing=()
for tool in "${!package_of[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || still_missing+=("$tool")
done
[ -n "$(postgres_bin_dir)" ] || still_missing+=("initdb and postgres (looked on PATH and in /usr/lib/postgresql/*/bin)")
[ -x /usr/bin/chromium ] || still_missing+=(/usr/bin/chromium)
[ -f /usr/include/sodium.h ] || still_missing+=(/usr/include/sodium.h)
if [ "${#still_missing[@]}" -gt 0 ]; then
  echo "test setup: still missing after the install: ${still_missing[*]}" >&2
  exit 1
fi
