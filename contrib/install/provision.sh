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
#   --encrypt KEY          gossip key from `nai operator keygen`, the same everywhere;
#                          required for servers: it also authenticates raft
#                          between them (with ACLs on, a server without it or
#                          a tls block refuses to start)
#   --management-token S   (servers) secret of the management token the first
#                          leader makes (acl.initial_management_token); kept
#                          for root in /etc/nai/management.token (0600)
#   --node-token S         the GPU hosts' token (policy node): servers make it
#                          with the management token (acl.initial_node_token),
#                          clients register with it (acl.agent_token); the
#                          same on every host. Make secrets with
#                          `openssl rand -base64 32`
#   --encrypt-file F, --management-token-file F, --node-token-file F
#                          the same, read from the first line of file F:
#                          a value on the command line is seen by every
#                          local user in `ps` while this script runs
#   --node-down-grace D    how long a failed client stays ready (default 30s)
#   --binary FILE          the nai binary (see install.sh)
#   --root DIR             install and configure under DIR (see install.sh);
#                          the agent is not started
#   --no-start             write everything, start nothing
#   -h, --help             this text
#
# The agent's configuration is /etc/nai/ROLE.hcl; this script owns it and
# rewrites it on every run. NAI_ADDR for the CLI goes to /etc/environment,
# so `ssh host nai node status -self` talks to the local agent; a server's
# nai-snapshot.service gets it, with the token file, from
# /etc/nai/snapshot.env (0600; add NAI_CACERT, NAI_CLIENT_CERT and
# NAI_CLIENT_KEY there when the agents speak TLS). ACLs are
# on: without --management-token run `nai acl bootstrap` once the servers
# are up; a client without --node-token cannot register its node.
set -eu

usage() {
	sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p;}' "$0"
}

die() {
	echo "provision.sh: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
role="" name="" bind="" join="" expect=3 gpus=0 encrypt="" grace=30s mgmt="" nodetok=""
root="" binary="" start=1 driver=0
need() { [ "$2" -ge 2 ] || die "$1 needs a value"; }
# fromfile OPTION FILE: the first line of FILE, which must hold one.
fromfile() {
	[ -r "$2" ] || die "$1: cannot read $2"
	v=$(head -n 1 "$2")
	[ -n "$v" ] || die "$1: $2 is empty"
	printf '%s' "$v"
}
while [ $# -gt 0 ]; do
	case $1 in
	--role) need "$1" $#; role=$2; shift 2 ;;
	--name) need "$1" $#; name=$2; shift 2 ;;
	--bind) need "$1" $#; bind=$2; shift 2 ;;
	--join) need "$1" $#; join=$2; shift 2 ;;
	--bootstrap-expect) need "$1" $#; expect=$2; shift 2 ;;
	--dev-gpus) need "$1" $#; gpus=$2; shift 2 ;;
	--encrypt) need "$1" $#; encrypt=$2; shift 2 ;;
	--management-token) need "$1" $#; mgmt=$2; shift 2 ;;
	--node-token) need "$1" $#; nodetok=$2; shift 2 ;;
	--encrypt-file) need "$1" $#; encrypt=$(fromfile "$1" "$2"); shift 2 ;;
	--management-token-file) need "$1" $#; mgmt=$(fromfile "$1" "$2"); shift 2 ;;
	--node-token-file) need "$1" $#; nodetok=$(fromfile "$1" "$2"); shift 2 ;;
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
if [ "$role" = server ] && [ -z "$encrypt" ]; then
	die "--encrypt (or --encrypt-file) is required for servers: the gossip key also authenticates raft between servers (make one with 'nai operator keygen'; the same on every host)"
fi
# secret NAME VALUE: a token secret goes into a config file between quotes.
secret() {
	case $2 in
	*[!A-Za-z0-9+/=._~-]*) die "$1: expected letters, digits and + / = . _ ~ - (such as from 'openssl rand -base64 32')" ;;
	esac
	[ "${#2}" -ge 32 ] || die "$1: ${#2} characters; expected at least 32 random ones ('openssl rand -base64 32')"
}
[ -z "$mgmt" ] || secret --management-token "$mgmt"
[ -z "$nodetok" ] || secret --node-token "$nodetok"
if [ -n "$mgmt" ] && [ "$role" != server ]; then
	die "--management-token is for servers (clients register with --node-token)"
fi

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

			# Every API call needs a token. The first leader makes these two
			# tokens when ACLs were never bootstrapped.
			acl {
			  enabled = true
		EOF
		[ -z "$mgmt" ] || echo "  initial_management_token = \"$mgmt\""
		[ -z "$nodetok" ] || echo "  initial_node_token       = \"$nodetok\""
		echo "}"
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

			# Every API call needs a token; this node registers with a token of
			# policy node. Tasks do not run as root: each user's unix account.
			acl {
			  enabled = true
		EOF
		[ -z "$nodetok" ] || echo "  agent_token = \"$nodetok\""
		echo "}"
	fi
} >"$tmp"
mkdir -p "$(dirname "$cfg")"
cp "$tmp" "$cfg.new.$$"
# The server (user nai) reads its file; the client's holds a token for
# root alone.
if [ "$role" = server ]; then
	chmod 0640 "$cfg.new.$$"
	[ -n "$root" ] || chgrp nai "$cfg.new.$$"
else
	chmod 0600 "$cfg.new.$$"
fi
mv -f "$cfg.new.$$" "$cfg"
echo "wrote $cfg"
if [ -n "$mgmt" ]; then
	# For root's nai commands and nai-snapshot.service:
	# sudo NAI_TOKEN_FILE=/etc/nai/management.token nai ...
	(
		umask 077
		printf '%s\n' "$mgmt" >"$root/etc/nai/management.token.new.$$"
	)
	mv -f "$root/etc/nai/management.token.new.$$" "$root/etc/nai/management.token"
	echo "kept the management token in $root/etc/nai/management.token (root only)"
fi

# nai-snapshot.service (a server's nightly snapshot) reads its settings
# from /etc/nai/snapshot.env: systemd units do not read /etc/environment,
# and the CLI's default address, 127.0.0.1:4646, is not where this agent
# listens. The file is rewritten on every run; the TLS lines and
# NAI_SNAPSHOT_KEEP_DAYS an operator added are kept (with NAI_CACERT the
# address is https).
if [ "$role" = server ]; then
	snapenv="$root/etc/nai/snapshot.env"
	kept=""
	[ ! -f "$snapenv" ] || kept=$(grep -E '^(NAI_CACERT|NAI_CLIENT_CERT|NAI_CLIENT_KEY|NAI_SNAPSHOT_KEEP_DAYS)=' "$snapenv" || true)
	scheme=http
	case $kept in *NAI_CACERT=*) scheme=https ;; esac
	(
		umask 077
		{
			echo "# Written by contrib/install/provision.sh for nai-snapshot.service; it rewrites"
			echo "# this file on every run, keeping the NAI_CACERT, NAI_CLIENT_CERT, NAI_CLIENT_KEY"
			echo "# and NAI_SNAPSHOT_KEEP_DAYS lines."
			echo "NAI_ADDR=$scheme://$bind:4646"
			echo "NAI_TOKEN_FILE=$root/etc/nai/management.token"
			if [ -n "$kept" ]; then
				printf '%s\n' "$kept"
			else
				echo "# With a tls block in server.hcl, the CA and a CLI certificate"
				echo "# (nai tls cert create -cli), readable by root:"
				echo "#NAI_CACERT=/etc/nai/tls/nai-agent-ca.pem"
				echo "#NAI_CLIENT_CERT=/etc/nai/tls/dc1-cli-nai-0.pem"
				echo "#NAI_CLIENT_KEY=/etc/nai/tls/dc1-cli-nai-0-key.pem"
				echo "#NAI_SNAPSHOT_KEEP_DAYS=14"
			fi
		} >"$snapenv.new.$$"
	)
	mv -f "$snapenv.new.$$" "$snapenv"
	echo "wrote $snapenv (for nai-snapshot.service)"
fi

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
