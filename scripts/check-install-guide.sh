#!/usr/bin/env bash
# Runs the install guide (docs/operations.md, "Running as a service", its first sh block) in a scratch root, so that a
# guide line that no longer works fails. Every absolute path the guide names under /etc, /var,
# /usr/lib, /usr/share/edgepay, /usr/share/doc/edgepay and /usr/bin/edgepay is moved into the root;
# the guide's inputs from elsewhere (the store's certificates, the centre's configuration and card
# key, the box's public key at the centre) are made first, with edgepay's own commands. The box's
# /etc/edgepay/node.yaml is the shipped example the guide installs, then the operator's edits: the
# edited file replaces it as soon as a guide line has installed the example, and a guide that never
# does fails.
#   apt-get install ./edgepay_*.deb   extracts --deb FILE into the root, or without --deb lays out this
#                                     checkout's build the same way; then the postinst's
#                                     systemd-sysusers / systemd-tmpfiles, with --root
#   systemd-run ... PROGRAM ARGS      runs PROGRAM ARGS with the -p LoadCredential[Encrypted]= files
#                                     copied (or decrypted) into a CREDENTIALS_DIRECTORY
#   runuser -u edgepay -- CMD         runs CMD as this user (the root's edgepay user is not this host's)
# Skipped, each listed: systemctl, journalctl and udevadm lines (they need a running systemd or
# udev) and any other apt-get line.
#
# Usage: scripts/check-install-guide.sh [--deb FILE] [--guide FILE] [--keep]
set -euo pipefail
umask 022

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deb=""
guide="$repo/docs/operations.md"
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb=$(readlink -f "$2"); shift 2 ;;
    --guide) guide=$(readlink -f "$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "check-install-guide: unknown argument $1 (usage: [--deb FILE] [--guide FILE] [--keep])" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/edgepay-guide.XXXXXX")
[ "$keep" = 1 ] && echo "check-install-guide: keeping $work" >&2 || trap 'rm -rf "$work"' EXIT
root="$work/root"
here="$work/here"   # the guide's working directory: pki/, card-seal.pub, signing.pub
mkdir -p "$root" "$here"
export PATH="$root/usr/bin:$PATH"

# The guide: the first sh block after the heading, continuation lines joined.
mapfile -t lines < <(awk '
  /^# Running as a service/ { section = 1; next }
  section && /^## / { exit }
  section && /^```sh/ { inblock = 1; next }
  inblock && /^```/ { exit }
  inblock { print }
' "$guide" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
[ "${#lines[@]}" -gt 10 ] || { echo "check-install-guide: no install guide found in $guide" >&2; exit 1; }

in_root() {
  sed -E "s#(^|[ =:])/(etc|var|usr/lib|usr/share/edgepay|usr/share/doc/edgepay|usr/bin/edgepay)([/ ]|$)#\\1$root/\\2\\3#g" <<<"$1"
}

install_package() {
  if [ -n "$deb" ]; then
    dpkg-deb -x "$deb" "$root"
  else
    # This checkout's build where the package puts it (scripts/package-deb.sh has the full layout).
    [ -f "$repo/dist/cli/main.js" ] || { echo "check-install-guide: run npm run build first" >&2; exit 1; }
    install -d "$root/usr/bin" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/share/edgepay/brokers" \
      "$root/usr/share/doc/edgepay/examples"
    printf '#!/bin/sh\nexec node %s "$@"\n' "$repo/dist/cli/main.js" >"$root/usr/bin/edgepay"
    chmod 0755 "$root/usr/bin/edgepay"
    install -m 0644 "$repo/systemd/edgepay.sysusers.conf" "$root/usr/lib/sysusers.d/edgepay.conf"
    install -m 0644 "$repo/systemd/edgepay.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/edgepay.conf"
    install -m 0644 "$repo/brokers/acl.template" "$repo/brokers/mosquitto.conf" "$root/usr/share/edgepay/brokers/"
    install -m 0644 "$repo"/examples/* "$root/usr/share/doc/edgepay/examples/"
  fi
  # What the postinst does, in the root.
  install -d "$root/etc"
  systemd-sysusers --root="$root" edgepay.conf
  systemd-tmpfiles --root="$root" --create edgepay.conf
}

# The guide's inputs from other machines and sections, made with edgepay's commands.
prepare_inputs() {
  (
    cd "$here"
    edgepay certs ca create --out-dir pki >/dev/null
    edgepay certs issue --ca pki/ca.crt --server --name store-broker --host store-broker.local --host 192.168.40.2 --out-dir pki >/dev/null
    edgepay certs issue --ca pki/ca.crt --name store-001-box-1 --out-dir pki >/dev/null
    edgepay keygen card-seal --out centre-keys >/dev/null
    cp centre-keys/card-seal.pub .
    edgepay keygen centre-signing --out "$root/etc/edgepay/centre-keys" >/dev/null
  )
  # The operator's edits to the shipped example (the guide installs it as /etc/edgepay/node.yaml): this
  # box, no lanes, no peers yet, the store broker over mutual TLS, the centre over MQTT.
  cat >"$work/node.yaml" <<EOF
nodeId: store-001-box-1
dataDir: $root/var/lib/edgepay
keys:
  tokenKeyFile: credential:token.key
  centrePublicKeyFile: centre.pub
api:
  host: 127.0.0.1
  port: 8080
  tokenFile: credential:api.token
replication:
  fleet: fleet-1
  store: store-001
  brokerUrl: mqtts://store-broker.local:8883
  caFile: store-ca.crt
  certFile: store-001-box-1.crt
  keyFile: credential:broker.key
  signingKeyFile: credential:signing.key
  peers: []
centre:
  store: store-001
  signingPublicKeyFile: centre-keys/centre-signing.pub
EOF
  cat >"$root/etc/edgepay/centre.yaml" <<EOF
fleet: fleet-1
brokerUrl: mqtt://127.0.0.1:1883
signingKeyFile: centre-keys/centre-signing.key
ledger:
  sqliteFile: $root/var/lib/edgepay-centre/ledger.db
EOF
}

# Once a guide line has installed the shipped example as the box's configuration, the operator edits it.
edit_node_config() {
  local config="$root/etc/edgepay/node.yaml" example="$root/usr/share/doc/edgepay/examples/node.yaml"
  [ "$edited" = 0 ] && [ -f "$config" ] && [ -f "$example" ] && cmp -s "$config" "$example" || return 0
  install -m 0644 "$work/node.yaml" "$config"
  edited=1
}

run_under_credentials() {
  local -a words
  read -ra words <<<"$1"
  local creds="$work/credentials"
  rm -rf "$creds" && install -d -m 0700 "$creds"
  local i=1 word name path
  while [ "$i" -lt "${#words[@]}" ]; do
    word=${words[$i]}
    if [ "$word" = -p ]; then
      i=$((i + 1)); word=${words[$i]}
      case "$word" in
        LoadCredential=*) name=${word#*=}; path=${name#*:}; name=${name%%:*}; install -m 0600 "$path" "$creds/$name" ;;
        LoadCredentialEncrypted=*) name=${word#*=}; path=${name#*:}; name=${name%%:*}; systemd-creds decrypt --name="$name" "$path" "$creds/$name" ;;
      esac
    elif [[ "$word" != --* ]]; then
      break
    fi
    i=$((i + 1))
  done
  (cd "$here" && CREDENTIALS_DIRECTORY="$creds" "${words[@]:$i}")
}

ran=0
edited=0
skipped=()
for line in "${lines[@]}"; do
  trimmed=$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+#.*$//' <<<"$line")
  [ -z "$trimmed" ] || [[ "$trimmed" == \#* ]] && continue
  command=$(in_root "$trimmed")
  case "$trimmed" in
    "apt-get install ./edgepay_"*)
      install_package
      prepare_inputs ;;
    systemctl* | journalctl* | udevadm* | apt-get*)
      skipped+=("$trimmed"); continue ;;
    systemd-run*)
      run_under_credentials "$command" >/dev/null ;;
    "runuser -u edgepay -- "*)
      (cd "$here" && bash -euo pipefail -c "${command#runuser -u edgepay -- }") >/dev/null ;;
    *)
      (cd "$here" && bash -euo pipefail -c "$command") >/dev/null ;;
  esac || { echo "check-install-guide: this guide line failed: $trimmed" >&2; exit 1; }
  # The box's public key goes to the centre after the guide makes it.
  [ -f "$root/etc/edgepay/secrets/signing.pub" ] && [ ! -f "$here/signing.pub" ] && cp "$root/etc/edgepay/secrets/signing.pub" "$here/"
  edit_node_config
  ran=$((ran + 1))
done
[ "$edited" = 1 ] || { echo "check-install-guide: no guide line installs /usr/share/doc/edgepay/examples/node.yaml as /etc/edgepay/node.yaml" >&2; exit 1; }

echo "check-install-guide: ran $ran guide lines in $root"
for line in "${skipped[@]}"; do echo "check-install-guide: skipped: $line"; done
