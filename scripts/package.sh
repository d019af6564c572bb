#!/usr/bin/env bash
# Builds Tandem's three Debian packages from a release build, Swift's standard library linked in
# (--static-swift-stdlib: the target needs no Swift runtime), and checks each with lintian.
#
#   tandemd       the broker: systemd unit, /etc/tandem/tandemd.conf, its own user, /var/lib/tandem
#   tandem        the technician's CLI, with man page and bash, zsh and fish completions
#   tandem-agent  the end-user's agent, /etc/tandem/agent.conf
#
# Usage: scripts/package.sh [--out DIR] [--broker HOST:PORT] [--ca FILE] [--only NAME] [--build-only | --no-build]
#   --out DIR          where the .deb files go (default: dist/)
#   --broker HOST:PORT the broker the agent package reaches, written to its agent.conf, so the
#                      end-user installs one file and types only the code
#   --ca FILE          the CA certificate that signed the broker's, shipped as /etc/tandem/ca.crt
#                      in the agent package (omit when the broker's certificate is from a public CA)
#   --only NAME        only this package (e.g. a tandem-agent for another broker)
#   --build-only       only the release build (scripts/test.sh runs it beside the tests)
#   --no-build         package what the last release build left (after a run of this script)
# The release build has its own folder, .build-release (TANDEM_RELEASE_SCRATCH to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$root/dist"
agent_broker=""
agent_ca=""
build=1
only=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in --out | --broker | --ca | --only)
    [ $# -ge 2 ] || { echo "package.sh: $1 needs a value" >&2; usage >&2; exit 2; } ;;
  esac
  case "$1" in
    --out) out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --broker) agent_broker="$2"; shift 2 ;;
    --ca) agent_ca="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    --no-build) build=0; shift ;;
    --only) only="$2"; shift 2 ;;
    --build-only) build=only; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "package.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$only" in "" | tandemd | tandem | tandem-agent) ;; *) echo "package.sh: --only takes tandemd, tandem or tandem-agent" >&2; exit 2 ;; esac
address='^[][A-Za-z0-9.:-]+:([0-9]{1,5})$'
if [ -n "$agent_broker" ] && ! { [[ "$agent_broker" =~ $address ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[1]}" -le 65535 ]; }; then
  echo "package.sh: --broker wants HOST:PORT, e.g. help.example.com:8443" >&2; exit 2
fi
if [ -n "$agent_ca" ] && [ -z "$agent_broker" ]; then
  echo "package.sh: --ca goes with --broker (the agent's config names both)" >&2; exit 2
fi
if [ -n "$agent_ca" ] && ! openssl x509 -in "$agent_ca" -noout 2>/dev/null; then
  echo "package.sh: --ca $agent_ca is not a PEM certificate" >&2; exit 2
fi

# What packaging needs besides the build's own packages (scripts/setup.sh), once per machine.
need=(dpkg-dev lintian binutils libssh-dev pkg-config openssl)
bash scripts/apt-need.sh package "${need[@]}"

# 0.10.0-dev → 0.10.0~dev: a pre-release sorts before its release. A native package (no revision).
version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/TandemCore/Model/TandemVersion.swift | tr - '~')"
[ -n "$version" ] || { echo "package.sh: no version in Sources/TandemCore/Model/TandemVersion.swift" >&2; exit 1; }
arch="$(dpkg --print-architecture)"
# An agent made for one broker sorts after the generic one of the same release, and after an
# earlier one made for a broker, so installing it replaces either (and its agent.conf).
site_stamp="$(date -u +%Y%m%d%H%M%S)"
version_of() { if [ "$1" = tandem-agent ] && [ -n "$agent_broker" ]; then echo "$version+site$site_stamp"; else echo "$version"; fi; }
scratch="${TANDEM_RELEASE_SCRATCH:-$root/.build-release}"
release=(swift build -c release --static-swift-stdlib --scratch-path "$scratch")
if [ "$build" != 0 ]; then
  for product in tandemd tandem tandem-agent generate-manual; do
    log="$(mktemp)"
    started=$SECONDS
    if ! "${release[@]}" --product "$product" >"$log" 2>&1; then
      { grep -E "error" "$log" || tail -40 "$log"; } | head -40 >&2 || true
      rm -f "$log"
      echo "package: the release build of $product failed" >&2
      exit 1
    fi
    rm -f "$log"
    echo "package: built $product (release, $((SECONDS - started)) s)"
  done
  [ "$build" = only ] && exit 0
fi
bin="$("${release[@]}" --show-bin-path)"
for b in tandemd tandem tandem-agent generate-manual; do
  [ -x "$bin/$b" ] || { echo "package.sh: $bin/$b is missing; run without --no-build" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
date_rfc="$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")"

# Each binary's shared libraries, as Debian package names with versions (dpkg-shlibdeps reads the
# build machine's shlibs files; it wants a debian/control to stand in).
shlibdeps() {
  local dir="$work/shlibdeps"
  mkdir -p "$dir/debian"
  printf 'Source: tandem\n\nPackage: tandem\nArchitecture: any\n' >"$dir/debian/control"
  local found
  # Its warnings are about this stand-in layout ($ORIGIN, no DEBIAN yet), not the binary.
  found="$(cd "$dir" && dpkg-shlibdeps -O -e"$1" 2> >(grep -v "warning:" >&2))"
  found="$(printf '%s\n' "$found" | sed -n 's/^shlibs:Depends=//p')"
  [ -n "$found" ] || { echo "package.sh: dpkg-shlibdeps found no libraries for $1" >&2; return 1; }
  printf '%s\n' "$found"
}

# A file compressed as Debian ships documentation and man pages: gzip -9n (no name or time), 0644.
install_gz() { install -d -m 0755 "$(dirname "$2")"; gzip -9n <"$1" >"$2"; chmod 0644 "$2"; }

# One package: stage tree in $work/$1 (already filled), control fields, md5sums, dpkg-deb.
build_deb() {
  local name="$1" section="$2" depends="$3" summary="$4" description="$5" also="${6:-}" dir="$work/$1"
  local pkg_version
  pkg_version="$(version_of "$name")"
  install -d -m 0755 "$dir/DEBIAN" "$dir/usr/share/doc/$name"
  install -m 0644 deploy/debian/copyright "$dir/usr/share/doc/$name/copyright"
  # Apache-2.0 §4(d): the NOTICE files of the packages linked in go with the binaries.
  local notice notices=0
  for notice in "$scratch"/checkouts/*/NOTICE.txt; do
    [ -f "$notice" ] || continue
    install -D -m 0644 "$notice" "$dir/usr/share/doc/$name/notices/$(basename "$(dirname "$notice")").txt"
    notices=$((notices + 1))
  done
  [ "$notices" -gt 0 ] || { echo "package.sh: no NOTICE files in $scratch/checkouts; the copyright file promises them" >&2; exit 1; }
  printf '%s (%s) unstable; urgency=medium\n\n  * Release build of Tandem %s.\n\n -- Tandem developers <tandem@lists.tandem.dev>  %s\n' \
    "$name" "$pkg_version" "$pkg_version" "$date_rfc" | install_gz /dev/stdin "$dir/usr/share/doc/$name/changelog.gz"
  {
    echo "Package: $name"
    echo "Version: $pkg_version"
    echo "Architecture: $arch"
    echo "Maintainer: Tandem developers <tandem@lists.tandem.dev>"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$dir" | cut -f1)"
    echo "Depends: $depends"
    [ -z "$also" ] || echo "$also"
    echo "Section: $section"
    echo "Priority: optional"
    echo "Homepage: https://tandem.dev/"
    echo "Description: $summary"
    printf '%s\n' "$description" | fold -s -w 72 | sed 's/ *$//; s/^/ /; s/^ $/ ./'
  } >"$dir/DEBIAN/control"
  for script in postinst prerm postrm; do
    if [ -f "deploy/debian/$name.$script" ]; then install -m 0755 "deploy/debian/$name.$script" "$dir/DEBIAN/$script"; fi
  done
  if [ -d "$dir/etc" ]; then (cd "$dir" && find etc -type f | sed 's|^|/|' | sort) >"$dir/DEBIAN/conffiles"; fi
  (cd "$dir" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort | xargs md5sum) >"$dir/DEBIAN/md5sums"
  chmod 0644 "$dir/DEBIAN/control" "$dir/DEBIAN/md5sums"
  local deb="$out/${name}_${pkg_version}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$dir" "$deb" >/dev/null
  echo "package: $deb ($(du -h "$deb" | cut -f1))"
}

# A binary, stripped as dh_strip would, and its man page from its own --help.
install_binary() {
  local name="$1" dest="$2" section="$3" pkg="$4"
  install -D -m 0755 "$bin/$name" "$work/$pkg$dest/$name"
  strip --remove-section=.comment --remove-section=.note --strip-unneeded "$work/$pkg$dest/$name"
  local man="$work/man-$name"
  mkdir -p "$man"
  "$bin/generate-manual" "$bin/$name" --section "$section" --date "$(date -u -d "$date_rfc" +%Y-%m-%d)" \
    --authors "Tandem developers<tandem@lists.tandem.dev>" -o "$man" >/dev/null
  install_gz "$man/$name.$section" "$work/$pkg/usr/share/man/man$section/$name.$section.gz"
}

umask 022

wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }

if wanted tandemd; then
install_binary tandemd /usr/bin 8 tandemd
install -d -m 0755 "$work/tandemd/etc/tandem" "$work/tandemd/lib/systemd/system"
# The packaged settings: the player the package ships is on, everything else as deploy/ documents it.
sed 's|^# console-assets = /usr/share/tandem/console|console-assets = /usr/share/tandem/console|' deploy/tandemd.conf \
  >"$work/tandemd/etc/tandem/tandemd.conf"
chmod 0644 "$work/tandemd/etc/tandem/tandemd.conf"
# The unit as in deploy/, with the packaged binary and without the manual-install steps.
sed -e 's|/usr/local/bin/tandemd|/usr/bin/tandemd|' -e '/^# systemd unit/,/^#   systemctl enable/c\# systemd unit for the Tandem broker (package tandemd). Start it once /etc/tandem has its\n# certificate: systemctl enable --now tandemd' \
  deploy/tandemd.service >"$work/tandemd/lib/systemd/system/tandemd.service"
chmod 0644 "$work/tandemd/lib/systemd/system/tandemd.service"
# The template for several replicas on one host (docs/operator.md, "Several brokers").
sed -e 's|/usr/local/bin/tandemd|/usr/bin/tandemd|' deploy/tandemd@.service >"$work/tandemd/lib/systemd/system/tandemd@.service"
chmod 0644 "$work/tandemd/lib/systemd/system/tandemd@.service"
assets=".build-console"
[ -f "$assets/asciinema-player.js" ] || { echo "package.sh: no console player in $assets; run scripts/setup.sh first" >&2; exit 1; }
install -D -m 0644 "$assets/asciinema-player.js" "$work/tandemd/usr/share/tandem/console/asciinema-player.js"
install -D -m 0644 "$assets/asciinema-player.css" "$work/tandemd/usr/share/tandem/console/asciinema-player.css"
for doc in operator auditor helpdesk audit-format threat-model; do
  install_gz "docs/$doc.md" "$work/tandemd/usr/share/doc/tandemd/$doc.md.gz"
done
# swift-nio-extras compiles its own zlib in (symbols prefixed cnioextras_z_, for HTTP
# decompression in async-http-client); a Swift package's C code cannot be pointed at zlib1g.
install -D -m 0644 deploy/debian/tandemd.lintian-overrides "$work/tandemd/usr/share/lintian/overrides/tandemd"
deps="$(shlibdeps "$work/tandemd/usr/bin/tandemd")"
build_deb tandemd net "$deps, adduser (>= 3.134)" \
  "remote assistance session broker with an audit trail" \
  "Tandem pairs a technician with an end-user who approves the session by typing a short code, relays an SSH shell, commands and file transfers between them over TLS, and records every action on the helpdesk ticket in a signed, verifiable chain. This package holds the broker, tandemd, run by systemd as its own user with its data in /var/lib/tandem. It is not started until the operator enables it."
fi

if wanted tandem; then
install_binary tandem /usr/bin 1 tandem
install -d -m 0755 "$work/tandem/usr/share/bash-completion/completions" "$work/tandem/usr/share/zsh/vendor-completions" \
  "$work/tandem/usr/share/fish/vendor_completions.d"
# bash-completion sources the file: no interpreter line.
"$bin/tandem" --generate-completion-script bash | sed '1{/^#!/d}' >"$work/tandem/usr/share/bash-completion/completions/tandem"
"$bin/tandem" --generate-completion-script zsh >"$work/tandem/usr/share/zsh/vendor-completions/_tandem"
"$bin/tandem" --generate-completion-script fish >"$work/tandem/usr/share/fish/vendor_completions.d/tandem.fish"
chmod 0644 "$work/tandem/usr/share/bash-completion/completions/tandem" "$work/tandem/usr/share/zsh/vendor-completions/_tandem" \
  "$work/tandem/usr/share/fish/vendor_completions.d/tandem.fish"
install -d -m 0755 "$work/tandem/usr/share/doc/tandem/examples"
install -m 0644 deploy/tandem.conf "$work/tandem/usr/share/doc/tandem/examples/tandem.conf"
install_gz docs/technician.md "$work/tandem/usr/share/doc/tandem/technician.md.gz"
deps="$(shlibdeps "$work/tandem/usr/bin/tandem")"
build_deb tandem net "$deps" \
  "remote assistance session broker - technician's command line" \
  "Tandem pairs a technician with an end-user who approves the session by typing a short code, and records every action on the helpdesk ticket. This package holds the technician's command line, tandem: tickets, session codes, shells, commands, file transfers, OpenSSH through the broker, and the audit log. Its settings go in ~/.config/tandem/tandem.conf (an example is in /usr/share/doc/tandem/examples)." \
  "Recommends: openssh-client"
fi

if wanted tandem-agent; then
install_binary tandem-agent /usr/bin 1 tandem-agent
install -d -m 0755 "$work/tandem-agent/etc/tandem"
if [ -n "$agent_broker" ]; then
  {
    echo "# /etc/tandem/agent.conf — made for this support team's broker; the end-user types only the code."
    echo "broker = $agent_broker"
    if [ -n "$agent_ca" ]; then echo "ca = /etc/tandem/ca.crt"; fi
  } >"$work/tandem-agent/etc/tandem/agent.conf"
else
  cp deploy/agent.conf "$work/tandem-agent/etc/tandem/agent.conf"
fi
[ -z "$agent_ca" ] || install -m 0644 "$agent_ca" "$work/tandem-agent/etc/tandem/ca.crt"
chmod 0644 "$work/tandem-agent/etc/tandem/agent.conf"
install_gz docs/end-user.md "$work/tandem-agent/usr/share/doc/tandem-agent/end-user.md.gz"
deps="$(shlibdeps "$work/tandem-agent/usr/bin/tandem-agent")"
build_deb tandem-agent net "$deps" \
  "remote assistance session broker - end-user's agent" \
  "Tandem lets a support technician help on this computer once its user has approved: the user types the code the technician reads out, sees who is asking and for what, and answers yes or no. While the session runs the user sees what is done and can end it at any time; everything is recorded on the helpdesk ticket. This package holds the agent, tandem-agent, and /etc/tandem/agent.conf naming the support team's broker." \
  "Suggests: rsync"
fi

# lintian, once for all the packages made: errors fail the build; warnings are shown.
made=()
for name in tandemd tandem tandem-agent; do
  if wanted "$name"; then made+=("$out/${name}_$(version_of "$name")_${arch}.deb"); fi
done
lint=0
report="$(lintian --fail-on error --tag-display-limit 0 "${made[@]}" 2>&1)" || lint=$?
printf '%s\n' "$report" | grep -v "running with root privileges" | sed "/^$/d; s/^/lintian: /" || true
if [ "$lint" != 0 ]; then
  echo "package: lintian reports errors (or failed: exit status $lint)" >&2
  exit 1
fi
echo "package: lintian reports no error"
