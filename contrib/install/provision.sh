#!/bin/sh
# Provisions one nai agent on this host: installs nai (install.sh), writes
# its configuration and starts its systemd unit. The Vagrantfile runs it on
# every VM; the same script sets up a bare-metal host.
#
#   sudo ./contrib/install/provision.sh --role server|client --name NAME \
#       --bind ADDR [options]
#
#   --role R               server or client
#   --name NAME            node name, unique in the cluster
#   --bind ADDR            the IP address other agents reach this host at
#   --join HOST:PORT,...   serf addresses of other agents (servers)
#   --bootstrap-expect N   servers that form the cluster (servers; default 3)
#   --dev-gpus N|auto      N fake GPUs (clients; default 0: the real ones);
#                          auto: the real ones when nvidia-smi sees any, else 2
#   --install-nvidia-driver  install Debian's NVIDIA driver (clients with GPUs
#                          handed through to a VM); a reboot may be needed
#   --encrypt KEY          gossip key from `nai operator keygen`, the same everywhere
#   --node-down-grace D    how long a failed client stays ready (default 30s)
#   --binary FILE          the nai binary (see install.sh)
#   --root DIR             install and configure under DIR (see install.sh);
#                          the agent is not started
#   --no-start             write everything, start nothing
#   -h, --help             this text
#
# The agent's configuration is /etc/nai/ROLE.hcl; this script owns it and
# rewrites it on every run. NAI_ADDR for the CLI goes to /etc/environment,
# so `ssh host nai node status -self` talks to the local agent.
set -eu

usage() {
	sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p;}' "$0"
}

die() {
	echo "provision.sh: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
role="" name="" bind="" join="" expect=3 gpus=0 encrypt="" grace=30s
root="" binary="" start=1 driver=0
need() { [ "$2" -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case $1 in
	--role) need "$1" $#; role=$2; shift 2 ;;
	--name) need "$1" $#; name=$2; shift 2 ;;
	--bind) need "$1" $#; bind=$2; shift 2 ;;
	--join) need "$1" $#; join=$2; shift 2 ;;
	--bootstrap-expect) need "$1" $#; expect=$2; shift 2 ;;
	--dev-gpus) need "$1" $#; gpus=$2; shift 2 ;;
	--encrypt) need "$1" $#; encrypt=$2; shift 2 ;;
	--node-down-grace) need "$1" $#; grace=$2; shift 2 ;;
	--binary) need "$1" $#; binary=$2; shift 2 ;;
	--root) need "$1" $#; root=$2; shift 2 ;;
	--no-start) start=0; shift ;;
	--install-nvidia-driver) driver=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

case $role in
server | client) ;;
"") die "--role is required: server or client" ;;
*) die "--role $role: expected server or client" ;;
esac
[ -n "$name" ] || die "--name is required: this node's name, unique in the cluster"
case $name in
*[!A-Za-z0-9._-]*) die "--name $name: expected letters, digits, '.', '_' and '-'" ;;
esac
[ -n "$bind" ] || die "--bind is required: the IP address other agents reach this host at"
case $bind in
*[!0-9a-fA-F.:]*) die "--bind $bind: expected an IP address" ;;
esac
case $expect in
'' | *[!0-9]*) die "--bootstrap-expect $expect: expected a number of servers" ;;
esac
case $gpus in
auto)
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
		gpus=0
	else
		gpus=2
	fi
	echo "--dev-gpus auto: $gpus ($([ "$gpus" = 0 ] && echo "nvidia-smi sees GPUs: the real ones" || echo "no NVIDIA GPU here: fake ones"))"
	;;
'' | *[!0-9]*) die "--dev-gpus $gpus: expected a number (0: the real GPUs) or auto" ;;
esac
if [ "$driver" = 1 ] && { [ "$role" != client ] || [ -n "$root" ]; }; then
	die "--install-nvidia-driver is for a client installed into / (not with --root)"
fi

# install_nvidia_driver installs Debian's driver from non-free, unless one
# already answers.
install_nvidia_driver() {
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
		return 0
	fi
	# shellcheck disable=SC1091 # the host's
	. /etc/os-release
	[ "${ID:-}" = debian ] || die "--install-nvidia-driver knows Debian only: install the NVIDIA driver (and nvidia-smi) yourself"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed -i -E '/^Components:/ { / non-free( |$)/! s/$/ contrib non-free non-free-firmware/ }' /etc/apt/sources.list.d/debian.sources
	fi
	if [ -f /etc/apt/sources.list ]; then
		sed -i -E '/^deb / { / non-free( |$)/! s/$/ contrib non-free non-free-firmware/ }' /etc/apt/sources.list
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "linux-headers-$(uname -r)" nvidia-driver firmware-misc-nonfree
	if ! nvidia-smi -L; then
		echo "provision.sh: the NVIDIA driver is installed but not loaded: reboot this host (vagrant reload $name); the agent finds the GPUs when it starts again" >&2
	fi
}
[ "$driver" = 0 ] || install_nvidia_driver
case $encrypt in
*[!A-Za-z0-9+/=]*) die "--encrypt: expected a base64 key from 'nai operator keygen'" ;;
esac

set -- 
[ -z "$root" ] || set -- "$@" --root "$root"
[ -z "$binary" ] || set -- "$@" --binary "$binary"
"$here/install.sh" "$@"
if [ -n "$root" ]; then
	root=$(cd "$root" && pwd)
	[ "$root" != / ] || root=""
fi

# join = ["a:4648", "b:4648"], leaving out this host's own address.
joins=""
old_ifs=$IFS
IFS=,
for j in $join; do
	[ -n "$j" ] || continue
	case $j in
	"$bind":* | "[$bind]":*) continue ;;
	*:*) ;;
	*) die "--join $j: expected host:port of another agent's serf" ;;
	esac
	joins="$joins${joins:+, }\"$j\""
done
IFS=$old_ifs

cfg="$root/etc/nai/$role.hcl"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
	echo "# Written by contrib/install/provision.sh; it rewrites this file on every run."
	echo "node_name  = \"$name\""
	echo "datacenter = \"dc1\""
	echo "data_dir   = \"$root/var/lib/nai/$role\""
	echo "bind_addr  = \"$bind\""
	echo "log_level  = \"info\""
	[ -z "$joins" ] || echo "join       = [$joins]"
	[ -z "$encrypt" ] || echo "encrypt    = \"$encrypt\""
	echo
	if [ "$role" = server ]; then
		cat <<-EOF
			server {
			  enabled          = true
			  bootstrap_expect = $expect
			  node_down_grace  = "$grace"
			}
		EOF
	else
		cat <<-EOF
			client {
			  enabled  = true
			  dev_gpus = $gpus
			  reserved {
			    cpu    = 0.5
			    memory = "256MiB"
			  }
			}
		EOF
	fi
} >"$tmp"
mkdir -p "$(dirname "$cfg")"
cp "$tmp" "$cfg.new.$$"
chmod 0640 "$cfg.new.$$"
mv -f "$cfg.new.$$" "$cfg"
[ -n "$root" ] || chgrp nai "$cfg"
echo "wrote $cfg"

# The CLI's default address is 127.0.0.1:4646; this agent listens on
# bind_addr. pam_env reads /etc/environment for ssh sessions, commands too.
envfile="$root/etc/environment"
touch "$envfile"
grep -v '^NAI_ADDR=' "$envfile" >"$tmp" || true
echo "NAI_ADDR=http://$bind:4646" >>"$tmp"
cp "$tmp" "$envfile"
echo "set NAI_ADDR=http://$bind:4646 in $envfile"

unit="nai-$role.service"
other="nai-client.service"
[ "$role" = server ] || other="nai-server.service"
if [ "$start" = 0 ] || [ -n "$root" ]; then
	echo "not started; systemd would run: $(sed -n 's/^ExecStart=//p' "$root/etc/systemd/system/$unit")"
	exit 0
fi
if [ ! -d /run/systemd/system ]; then
	die "systemd is not running here: start the agent with $(sed -n 's/^ExecStart=//p' "/etc/systemd/system/$unit")"
fi
# One agent per host: the roles share the ports.
systemctl disable --now "$other" >/dev/null 2>&1 || true
systemctl enable "$unit"
systemctl restart "$unit"
echo "started $unit"
