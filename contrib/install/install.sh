#!/bin/sh
# Installs nai from an unpacked release archive (nai_VERSION_linux_amd64/)
# or from a checkout after `make build`: the binaries, the systemd units, the
# sample configurations, shell completion and docs; the nai user and group;
# the state directory. It enables and starts nothing: edit
# /etc/nai/server.hcl or client.hcl, then `systemctl enable --now nai-server`
# (or nai-client). Running it again upgrades the binary, units and
# completion and keeps the configuration.
#
#   sudo ./contrib/install/install.sh [options]
#
#   --binary FILE  the nai binary (default: nai beside contrib/, else bin/nai);
#                  the agent binary nai-agent beside it goes in too (`nai
#                  agent` runs it; a full build named nai alone does all),
#                  and so does nai-executor, which runs each job (without
#                  it the agent runs jobs from nai, slower to start)
#   --bindir DIR   where the binaries go (default /usr/local/bin)
#   --root DIR     install under DIR instead of /, and point the installed
#                  units at DIR (binary, configs), so that the result runs
#                  from DIR: for tests and for trying nai without root. No
#                  user is made and systemd is not told.
#   -h, --help     this text
set -eu

usage() {
	sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p;}' "$0"
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
root=""
bindir=/usr/local/bin
binary=""
while [ $# -gt 0 ]; do
	case $1 in
	--binary) [ $# -ge 2 ] || die "--binary needs a file"; binary=$2; shift 2 ;;
	--bindir) [ $# -ge 2 ] || die "--bindir needs a directory"; bindir=$2; shift 2 ;;
	--root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

case $bindir in
/*) ;;
*) die "--bindir $bindir: expected an absolute path" ;;
esac
if [ -n "$root" ]; then
	mkdir -p "$root" || die "cannot make --root $root"
	root=$(cd "$root" && pwd)
	[ "$root" != / ] || root=""
fi
if [ -z "$binary" ]; then
	for b in "$src/nai" "$src/bin/nai"; do
		if [ -f "$b" ]; then
			binary=$b
			break
		fi
	done
	[ -n "$binary" ] || die "no nai binary beside $src/contrib or in $src/bin: run make build, or give --binary FILE"
fi
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
	die "--binary $binary is not an executable file"
fi
"$binary" version >/dev/null 2>&1 || die "$binary does not run here ('$binary version' failed): wrong architecture?"
agent=$(dirname "$binary")/nai-agent
if [ ! -f "$agent" ]; then
	agent=""
	if "$binary" version | grep -q '^build: *cli'; then
		die "$binary is the CLI binary and the agent binary nai-agent is not beside it: install from a release archive, or run make build"
	fi
elif ! "$agent" version >/dev/null 2>&1; then
	die "$agent does not run here ('$agent version' failed): wrong architecture?"
fi
executor=$(dirname "$binary")/nai-executor
if [ ! -f "$executor" ]; then
	executor=""
elif ! "$executor" -h >/dev/null 2>&1; then
	die "$executor does not run here ('$executor -h' failed): wrong architecture?"
fi
for f in systemd/nai-server.service systemd/nai-client.service systemd/nai-snapshot.service systemd/nai-snapshot.timer \
	config/server.hcl config/client.hcl \
	completion/nai.bash completion/_nai completion/nai.fish; do
	[ -f "$src/contrib/$f" ] || die "$src/contrib/$f is missing: run this script from a release archive or a nai checkout"
done
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
	die "installing into / needs root (or use --root DIR)"
fi

# put MODE SRC DEST copies SRC to DEST (under the root) through a temporary
# file, so that a running binary is replaced, never overwritten in place.
put() {
	dest="$root$3"
	mkdir -p "$(dirname "$dest")"
	cp "$2" "$dest.new.$$"
	chmod "$1" "$dest.new.$$"
	mv -f "$dest.new.$$" "$dest"
}

put 0755 "$binary" "$bindir/nai"
echo "installed $root$bindir/nai ($("$root$bindir/nai" version | head -n 1))"
if [ -n "$agent" ]; then
	put 0755 "$agent" "$bindir/nai-agent"
	echo "installed $root$bindir/nai-agent ($("$root$bindir/nai-agent" version | head -n 1))"
fi
if [ -n "$executor" ]; then
	put 0755 "$executor" "$bindir/nai-executor"
	echo "installed $root$bindir/nai-executor"
elif [ -e "$root$bindir/nai-executor" ]; then
	# The agent prefers it to the nai just installed: an older one must
	# not run the new version's jobs.
	rm -f "$root$bindir/nai-executor"
	echo "removed the old $root$bindir/nai-executor (none beside $binary): jobs run from nai"
fi

# The units name /usr/bin/nai and /etc/nai; point them at what was installed.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for unit in nai-server.service nai-client.service nai-snapshot.service nai-snapshot.timer; do
	sed -e "s|/usr/bin/nai |$root$bindir/nai |" -e "s|/etc/nai/|$root/etc/nai/|g" \
		"$src/contrib/systemd/$unit" >"$tmp"
	put 0644 "$tmp" "/etc/systemd/system/$unit"
done
echo "installed $root/etc/systemd/system/nai-server.service, nai-client.service, nai-snapshot.service and .timer (backups; not enabled)"

mkdir -p "$root/etc/nai"
for cfg in server.hcl client.hcl; do
	if [ -e "$root/etc/nai/$cfg" ]; then
		echo "kept $root/etc/nai/$cfg"
	else
		put 0640 "$src/contrib/config/$cfg" "/etc/nai/$cfg"
		echo "installed the sample $root/etc/nai/$cfg: edit it before starting the agent"
	fi
done

put 0644 "$src/contrib/completion/nai.bash" /usr/share/bash-completion/completions/nai
put 0644 "$src/contrib/completion/_nai" /usr/share/zsh/vendor-completions/_nai
put 0644 "$src/contrib/completion/nai.fish" /usr/share/fish/vendor_completions.d/nai.fish
for doc in docs/operations.md contrib/logging/README.md; do
	if [ -f "$src/$doc" ]; then
		name=$(basename "$doc")
		[ "$name" != README.md ] || name=logging.md
		put 0644 "$src/$doc" "/usr/share/doc/nai/$name"
	fi
done

# State: the server runs as nai, the client as root (cgroups, GPU devices,
# jobs run as their users).
# The client's dir may be walked through (not listed) by everyone: tasks
# run as their users' accounts, in work dirs below it.
mkdir -p "$root/var/lib/nai/server" "$root/var/lib/nai/client"
chmod 0750 "$root/var/lib/nai/server"
chmod 0711 "$root/var/lib/nai/client"
if [ -z "$root" ]; then
	if ! getent passwd nai >/dev/null 2>&1; then
		getent group nai >/dev/null 2>&1 || groupadd --system nai
		useradd --system --gid nai --home-dir /var/lib/nai --no-create-home \
			--shell /usr/sbin/nologin --comment "nai server" nai
		echo "made the system user nai"
	fi
	chown -R nai:nai /var/lib/nai/server
	chgrp nai /etc/nai/server.hcl
else
	echo "skipped the nai user and ownership (--root)"
fi

if [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload
	echo "systemd reloaded: enable an agent with 'systemctl enable --now nai-server' or 'nai-client'"
fi
