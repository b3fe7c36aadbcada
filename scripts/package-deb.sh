#!/usr/bin/env bash
# Builds the store package, edgepay_<version>_<arch>.deb, for this machine's architecture:
#   /usr/lib/edgepay/          the bundled program (bundle/: no source maps, no benchmarks, demos,
#                              simulation or fault injection) and its production dependencies from the lockfile (npm-shrinkwrap.json),
#                              native addons compiled here, so the store box needs no compiler
#   /usr/bin/edgepay           the command line (a link to bundle/cli/main.js), its manual page
#                              (/usr/share/man/man1) and bash completion
#   /usr/lib/systemd/system/   the units; /usr/lib/sysusers.d, /usr/lib/tmpfiles.d: the edgepay user
#                              and its directories; /usr/lib/udev/rules.d: the card readers' rule
#   /usr/share/edgepay/        what the program and the install guide read: the broker's
#                              configuration and ACL template, the reader profiles
#   /usr/share/doc/edgepay/    README and docs/, copyright (Apache-2.0), examples, broker and unit notes
# The postinst makes the edgepay user and directories and reloads udev; it never enables or starts
# a service (the box is configured first: docs/operations.md).
#
# Usage: scripts/package-deb.sh [--out-dir DIR]     (npm run package -- --out-dir DIR)
# Needs the dev dependencies (npm ci), dpkg-dev (dpkg-shlibdeps), the C++ toolchain and Node's
# headers (NodeSource's nodejs ships them in /usr/include/node).
set -euo pipefail
umask 022

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out_dir="$repo/packages"

fail() {
  echo "package-deb: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --out-dir) [ $# -ge 2 ] || fail "--out-dir needs a directory"; out_dir=$2; shift 2 ;;
    --out-dir=*) out_dir=${1#*=}; shift ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package-deb: unknown argument $1 (usage: scripts/package-deb.sh [--out-dir DIR])" >&2; exit 2 ;;
  esac
done

for tool in dpkg-deb dpkg-shlibdeps node npm make g++ python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (apt-get install dpkg-dev make g++ python3; bash scripts/test-system-packages.sh installs them all)"
done
[ -x "$repo/node_modules/.bin/tsc" ] || fail "run npm ci first: the build needs the dev dependencies (typescript)"

version=$(node -p "require('$repo/package.json').version")
arch=$(dpkg --print-architecture)
node_arch=$(node -p process.arch)
node_version=$(node -p process.versions.node)
node_major=${node_version%%.*}
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
[ -f "$node_prefix/include/node/node.h" ] || fail "Node's headers are not in $node_prefix/include/node: the native addons are compiled against them (NodeSource's nodejs package has them)"
node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$node_gyp" ] || fail "npm's node-gyp is not at $node_gyp"

work=$(mktemp -d "${TMPDIR:-/tmp}/edgepay-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
app="$root/usr/lib/edgepay"
share="$root/usr/share/edgepay"
doc="$root/usr/share/doc/edgepay"
mkdir -p "$app" "$share" "$doc" "$root/usr/bin" "$root/DEBIAN"

echo "package-deb: compiling and bundling (no source maps) ..." >&2
# A fresh build in the staging directory: the tree's dist/ may hold maps and files of deleted sources.
# The bundle has no development rigs: src/cli/rig-commands.ts lists their commands, which then say so.
"$repo/node_modules/.bin/tsc" -p "$repo/tsconfig.build.json" --outDir "$work/dist" --tsBuildInfoFile "$work/tsbuildinfo" --sourceMap false >&2
node "$repo/scripts/bundle.mjs" --from "$work/dist" --out "$app/bundle" --no-source-maps >&2
chmod 0755 "$app/bundle/cli/main.js"

# Every relative import of what is shipped must be shipped too: a chunk left out would otherwise
# fail only when the command that loads it runs on a store box.
node --input-type=module - "$app/bundle" <<'EOF'
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
const root = process.argv[2];
const missing = [];
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
for (const file of walk(root)) {
  const text = readFileSync(file, 'utf8');
  // esbuild's own imports (double quotes, at a line's start or as import("…")), not the bundled packages' comments.
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"(\.{1,2}\/[^"]+)"|\bimport\("(\.{1,2}\/[^"]+)"\)/gm)) {
    const spec = match[1] ?? match[2];
    if (!existsSync(resolve(dirname(file), spec))) missing.push(`${file.slice(root.length + 1)} imports ${spec}`);
  }
}
if (missing.length > 0) {
  console.error(`package-deb: the shipped program imports modules left out:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
EOF

echo "package-deb: production dependencies from npm-shrinkwrap.json ..." >&2
deps="$work/deps"
mkdir -p "$deps"
cp "$repo/package.json" "$repo/npm-shrinkwrap.json" "$deps/"
# --ignore-scripts: no prepare (it compiles, with typescript absent) and no addon downloads;
# the addons are compiled below, against this machine's Node headers.
(cd "$deps" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2)
modules="$deps/node_modules"

# better-sqlite3 and unix-dgram have no prebuilt binary in their npm packages; @serialport/bindings-cpp does (prebuilds/).
# The checkout's own copies were compiled by its `npm ci` on this machine, for this Node: when the
# version is the one staged, that binary is what a rebuild here would make, and it is reused.
for module in better-sqlite3 unix-dgram; do
  built="$repo/node_modules/$module/build/Release"
  checkout_version=$(node -p "require('$repo/node_modules/$module/package.json').version" 2>/dev/null || true)
  staged_version=$(node -p "require('$modules/$module/package.json').version")
  if [ "$checkout_version" = "$staged_version" ] && compgen -G "$built/*.node" >/dev/null; then
    echo "package-deb: $module $staged_version: the checkout's build for $arch (Node $node_version)" >&2
    mkdir -p "$modules/$module/build" && cp -r "$built" "$modules/$module/build/"
    continue
  fi
  echo "package-deb: compiling $module for $arch (Node $node_version) ..." >&2
  if ! (cd "$modules/$module" && node "$node_gyp" rebuild --release --nodedir="$node_prefix" --jobs=max >"$work/$module.log" 2>&1); then
    tail -n 40 "$work/$module.log" >&2
    fail "compiling $module failed (log above)"
  fi
done

# A native package nobody compiled (a new dependency) would need a compiler on the box: refuse.
while IFS= read -r gyp; do
  package_dir=$(dirname "$gyp")
  if ! compgen -G "$package_dir/build/Release/*.node" >/dev/null && [ ! -d "$package_dir/prebuilds/linux-$node_arch" ]; then
    case "$package_dir" in */node_modules/nan | */node_modules/node-addon-api) continue ;; esac
    fail "${package_dir#"$modules/"} is a native addon with no binary for linux-$node_arch: compile it here as better-sqlite3 is"
  fi
done < <(find "$modules" -name binding.gyp -not -path '*/node_modules/*/node_modules/*/test/*')

# What only a compiler needs goes: sources, headers, objects, build files; other platforms' binaries.
for module in better-sqlite3 unix-dgram; do
  find "$modules/$module/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$modules/$module/build/Release" -mindepth 1 -maxdepth 1 ! -name '*.node' -exec rm -rf {} +
  rm -rf "$modules/$module/src" "$modules/$module/deps"
done
# better-sqlite3's test extension is only for its own tests.
rm -f "$modules/better-sqlite3/build/Release/test_extension.node"
find "$modules/@serialport/bindings-cpp/prebuilds" -mindepth 1 -maxdepth 1 ! -name "linux-$node_arch" -exec rm -rf {} +
rm -f "$modules/@serialport/bindings-cpp/prebuilds/linux-$node_arch/"*.musl.node
rm -rf "$modules/@serialport/bindings-cpp/src" "$modules/nan" "$modules/node-addon-api" "$modules/.bin"
# Type definitions some dependencies list as their own dependencies (@types/node among them): only a compiler reads them.
rm -rf "$modules/@types"
find "$modules" \( -name '*.map' -o -name '*.gyp' -o -name '*.gypi' -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' -o -name '*.o' -o -name '*.a' -o -name '*.mk' \) -type f -delete
mv "$modules" "$app/node_modules"

# No dev dependency may have come along (a lockfile that marks one as needed in production).
for dev in $(node -p "Object.keys(require('$repo/package.json').devDependencies).join(' ')"); do
  [ ! -e "$app/node_modules/$dev" ] || fail "dev dependency $dev is in the production install: check npm-shrinkwrap.json"
done

# The package.json the program reads (its version, "type": "module"), without the build's parts.
node -e '
  const pkg = require(process.argv[1]);
  const keep = ["name", "version", "description", "license", "type", "engines", "bin", "dependencies"];
  process.stdout.write(JSON.stringify(Object.fromEntries(keep.filter((k) => k in pkg).map((k) => [k, pkg[k]])), null, 2) + "\n");
' "$repo/package.json" >"$app/package.json"

ln -s ../lib/edgepay/bundle/cli/main.js "$root/usr/bin/edgepay"

# The manual page (generated from the commands: man/edgepay.1) and bash completion, written by the
# staged program itself, so that they name the commands the package has.
install -d "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions"
gzip -9n <"$repo/man/edgepay.1" >"$root/usr/share/man/man1/edgepay.1.gz"
node "$app/bundle/cli/main.js" completion bash >"$root/usr/share/bash-completion/completions/edgepay"

# Units, users, directories, the readers' rule.
install -d "$root/usr/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/lib/udev/rules.d"
install -m 0644 "$repo"/systemd/*.service "$repo"/systemd/*.socket "$repo"/systemd/*.timer "$root/usr/lib/systemd/system/"
install -m 0644 "$repo/systemd/edgepay.sysusers.conf" "$root/usr/lib/sysusers.d/edgepay.conf"
install -m 0644 "$repo/systemd/edgepay.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/edgepay.conf"
install -m 0644 "$repo/devices/99-edgepay-readers.rules" "$root/usr/lib/udev/rules.d/"

# Data the program reads beside bundle/ (brokers/acl.template, devices/*.json) lives in
# /usr/share/edgepay; the links keep the program's package-relative paths working.
install -d "$share/brokers" "$share/devices"
install -m 0644 "$repo/brokers/acl.template" "$repo/brokers/mosquitto.conf" "$share/brokers/"
install -m 0644 "$repo"/devices/*.json "$share/devices/"
ln -s ../../share/edgepay/brokers "$app/brokers"
ln -s ../../share/edgepay/devices "$app/devices"

install -d "$doc/examples" "$doc/brokers" "$doc/systemd" "$doc/devices" "$doc/docs"
install -m 0644 "$repo/README.md" "$doc/"
install -m 0644 "$repo"/docs/*.md "$doc/docs/"
install -m 0644 "$repo/LICENSE" "$doc/copyright"
install -m 0644 "$repo"/examples/* "$doc/examples/"
install -m 0644 "$repo"/brokers/* "$doc/brokers/"
install -m 0644 "$repo/systemd/README.md" "$repo/systemd/exposure.json" "$doc/systemd/"
install -m 0644 "$repo/devices/README.md" "$doc/devices/"

# Dependencies: Node of the major the addons were compiled for (their ABI), and the shared
# libraries the addons link, as dpkg-shlibdeps finds them.
if [ "$node_major" = 20 ]; then node_min=20.19; else node_min=$node_major; fi
shlibs_dir="$work/shlibs"
mkdir -p "$shlibs_dir/debian"
printf 'Source: edgepay\n\nPackage: edgepay\nArchitecture: any\n' >"$shlibs_dir/debian/control"
mapfile -t addons < <(find "$app/node_modules" -name '*.node' -type f)
shlibs=$(cd "$shlibs_dir" && dpkg-shlibdeps -O "${addons[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
depends="nodejs (>= $node_min), nodejs (<< $((node_major + 1))), systemd${shlibs:+, $shlibs}"

installed_kb=$(du -sk --apparent-size "$root/usr" | cut -f1)
maintainer=${DEBFULLNAME:-edgepay maintainers}
cat >"$root/DEBIAN/control" <<EOF
Package: edgepay
Version: $version
Architecture: $arch
Maintainer: $maintainer <${DEBEMAIL:-packages@edgepay.invalid}>
Installed-Size: $installed_kb
Depends: $depends
Recommends: mosquitto, coreutils
Suggests: postgresql
Section: net
Priority: optional
Description: edge payment node for store boxes
 Authorizes card payments offline within risk limits and never loses a
 decision: every decision is written to a local, hash-chained SQLite journal
 and fsynced before the card reader hears it. Replicates to the store's peers
 over MQTT and reconciles with the central ledger.
 .
 Ships the node, the centre and the store broker's systemd units; none is
 enabled on install. See /usr/share/doc/edgepay/docs/operations.md, "Running as a
 service".
EOF

cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# edgepay's own user, directories and reader rule; no service is enabled or started here (the box
# is configured first: /usr/share/doc/edgepay/docs/operations.md, "Running as a service").
# DPKG_ROOT (dpkg --root with --force-script-chrootless, an image being built): the users and
# directories are made in that root, and the running system's udev and systemd are left alone.
set -e
in_root() {
  tool=$1
  shift
  if [ -n "${DPKG_ROOT:-}" ]; then "$tool" --root="$DPKG_ROOT" "$@"; else "$tool" "$@"; fi
}
if [ "$1" = configure ]; then
  # Named by file: only edgepay's entries, the highest-priority copy (an /etc override wins).
  if command -v systemd-sysusers >/dev/null 2>&1; then in_root systemd-sysusers edgepay.conf; fi
  if command -v systemd-tmpfiles >/dev/null 2>&1; then in_root systemd-tmpfiles --create edgepay.conf; fi
  if [ -z "${DPKG_ROOT:-}" ]; then
    # Readers already plugged in get their /dev/edgepay links and group now, not at the next plug.
    if [ -d /run/udev ] && command -v udevadm >/dev/null 2>&1; then
      udevadm control --reload || true
      udevadm trigger --subsystem-match=tty --action=change || true
    fi
    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
  fi
fi
exit 0
EOF

cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# The units and the reader rule are gone: systemd and udev forget them. The edgepay user and
# /var/lib/edgepay (the journal) stay, even on purge: a journal is never deleted by a package.
set -e
if { [ "$1" = remove ] || [ "$1" = purge ]; } && [ -z "${DPKG_ROOT:-}" ]; then
  if [ -d /run/udev ] && command -v udevadm >/dev/null 2>&1; then udevadm control --reload || true; fi
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"

# Modes do not depend on the checkout's: directories and programs 0755, everything else 0644.
find "$root" -path "$root/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
find "$root/usr" -type f -exec chmod 0644 {} +
find "$app/node_modules" -type f -name '*.node' -exec chmod 0755 {} +
chmod 0755 "$app/bundle/cli/main.js"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control"

mkdir -p "$out_dir"
deb="$out_dir/edgepay_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
files=$(dpkg-deb -c "$deb" | grep -vc '^d')
size_kb=$(( ($(stat -c %s "$deb") + 1023) / 1024 ))
echo "package-deb: $deb: ${size_kb} KiB, $files files and links, ${installed_kb} KiB installed; Depends: $depends" >&2
echo "$deb"
