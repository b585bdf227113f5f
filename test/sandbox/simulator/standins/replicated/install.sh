#!/bin/bash
# Stand-in for Replicated's install.sh (https://install.terraform.io/ptfe/stable), served to
# the sandbox's nodes by the simulator's installer download. It checks, before "starting"
# Terraform Enterprise, what the real installer needs from an automated (unattended) install
# (HashiCorp, "Automated Installation": /etc/replicated.conf, ImportSettingsFrom,
# LicenseFileLocation, TlsBootstrapType/Cert/Key; install.sh's documented flags), then
# records what it was given in /var/lib/tfe-sim/install.json for the simulator, which takes
# over from there (the install delay, then health from the files this node really has).
# Every refusal is one line on stderr starting "install.sh: " and exit code 1, as the node's
# console would show it.
set -uo pipefail

refuse() {
  echo "install.sh: $*" >&2
  exit 1
}

# Arguments: the flags install.sh knows (HashiCorp, "Installer Arguments" for Replicated).
for arg in "$@"; do
  case "$arg" in
    no-proxy | disable-replicated-ui | fast-timeouts | bypass-firewalld-warning | no-docker | airgap) ;;
    http-proxy=* | additional-no-proxy=* | private-address=* | public-address=*)
      [ -n "${arg#*=}" ] || refuse "argument $arg has an empty value"
      ;;
    *) refuse "unknown argument: $arg" ;;
  esac
done

# Files written by the installer and Replicated are read by TFE's containers, which do not run
# as root: an inherited umask that takes read access from group and others breaks them.
mask=$(umask)
if (( (8#$mask & 8#044) != 0 )); then
  refuse "umask is $mask: the files Replicated writes would not be readable by Terraform Enterprise's containers (run install.sh with umask 0022)"
fi

conf=/etc/replicated.conf
[ -f "$conf" ] || refuse "$conf does not exist: an automated install needs it"
jq -e 'type == "object"' "$conf" >/dev/null 2>&1 || refuse "$conf is not a JSON object"
jq -e '.ReleaseSequence | type == "number" and . == floor' "$conf" >/dev/null ||
  refuse "ReleaseSequence in $conf is $(jq -c '.ReleaseSequence' "$conf"), not an integer"

settings=$(jq -r '.ImportSettingsFrom // ""' "$conf")
[ -n "$settings" ] || refuse "$conf has no ImportSettingsFrom: the installer would wait for the admin console"
[ -f "$settings" ] || refuse "ImportSettingsFrom names $settings, which does not exist"
jq -e 'type == "object"' "$settings" >/dev/null 2>&1 || refuse "$settings is not a JSON object"
bad=$(jq -r 'to_entries[] | select((.value | type) != "object" or (.value | keys) != ["value"] or (.value.value | type) != "string") | .key' "$settings" | head -n 3 | paste -sd, -)
[ -z "$bad" ] || refuse "$settings: setting(s) $bad are not {\"value\": \"<string>\"}"

# The license: the sandbox's binary format (test/sandbox/simulator/license.ts): magic bytes,
# version, payload length, payload, 16 signature bytes, then the SHA-256 of all that in hex.
license=$(jq -r '.LicenseFileLocation // ""' "$conf")
[ -n "$license" ] || refuse "$conf has no LicenseFileLocation"
[ -f "$license" ] || refuse "LicenseFileLocation names $license, which does not exist"
size=$(stat -c %s "$license")
(( size >= 93 )) || refuse "license file $license is $size bytes, too short to be a license"
[ "$(head -c 8 "$license" | od -An -tx1 | tr -d ' \n')" = "5446452d5342581a" ] ||
  refuse "license file $license is not a license (bad magic bytes)"
len=$((16#$(head -c 13 "$license" | tail -c 4 | od -An -tx1 | tr -d ' \n')))
want=$((13 + len + 16 + 64))
(( size == want )) || refuse "license file $license is $size bytes, its header says $want"
sum=$(head -c $((size - 64)) "$license" | sha256sum | cut -d' ' -f1)
[ "$sum" = "$(tail -c 64 "$license")" ] || refuse "license file $license: checksum does not match"

if [ "$(jq -r '.TlsBootstrapType // ""' "$conf")" = "server-path" ]; then
  for k in TlsBootstrapCert TlsBootstrapKey; do
    f=$(jq -r --arg k "$k" '.[$k] // ""' "$conf")
    [ -n "$f" ] || refuse "TlsBootstrapType is server-path but $conf has no $k"
    [ -s "$f" ] || refuse "$k names $f, which does not exist or is empty"
  done
  openssl x509 -noout -in "$(jq -r .TlsBootstrapCert "$conf")" 2>/dev/null ||
    refuse "TlsBootstrapCert $(jq -r .TlsBootstrapCert "$conf") is not a PEM certificate"
  openssl pkey -noout -in "$(jq -r .TlsBootstrapKey "$conf")" 2>/dev/null ||
    refuse "TlsBootstrapKey $(jq -r .TlsBootstrapKey "$conf") is not a PEM private key"
fi

mkdir -p /var/lib/tfe-sim

# Active/Active nodes get TFE's admin commands (HashiCorp, "Active/Active Admin Commands",
# https://www.terraform.io/docs/enterprise/admin/active-active.html): "tfe-admin is an alias for
# replicated admin"; `node-drain` "will quiesce the current node and remove it from service. It
# will allow current work to complete and safely stop the node from picking up any new jobs from
# the Redis queue", and affects only this node. A standalone node has no tfe-admin container, so
# it gets neither command. The stand-in asks the simulator (a file in /var/lib/tfe-sim, which the
# simulator watches), then waits, without a timeout of its own, until the simulator says the
# node's runs are done.
if [ "$(jq -r '.enable_active_active.value // ""' "$settings")" = "1" ]; then
  cat > /usr/local/bin/replicated <<'CLI'
#!/bin/bash
# Stand-in for Replicated's CLI on an Active/Active TFE node (written by the sandbox's install.sh):
# only `replicated admin node-drain` (and `tfe-admin node-drain`, its alias).
set -u
if [ "$(basename "$0")" = tfe-admin ]; then
  cmd=("$@")
elif [ "${1:-}" = admin ]; then
  cmd=("${@:2}")
else
  cmd=()
fi
if [ "${#cmd[@]}" -ne 1 ] || [ "${cmd[0]}" != node-drain ]; then
  echo "usage: $(basename "$0") $([ "$(basename "$0")" = tfe-admin ] || echo 'admin ')node-drain (the only admin command of this sandbox stand-in)" >&2
  exit 1
fi
mkdir -p /var/lib/tfe-sim
date -u +%Y-%m-%dT%H:%M:%SZ > /var/lib/tfe-sim/drain-requested
echo "Draining node: no new jobs are taken from the queue; waiting for current work to finish"
while [ ! -e /var/lib/tfe-sim/drained ]; do sleep 0.1; done
echo "Node drained: current work finished; the node can be stopped"
CLI
  chmod 0755 /usr/local/bin/replicated
  ln -sf replicated /usr/local/bin/tfe-admin
fi

jq -n --arg umask "$mask" --arg conf "$conf" --arg settings "$settings" --arg license "$license" \
  '{kind: "replicated", args: $ARGS.positional, umask: $umask, replicatedConf: $conf, settings: $settings, license: $license, env: ($ENV | keys)}' \
  --args -- "$@" > /var/lib/tfe-sim/install.json
echo "install.sh: checks passed; starting Replicated and Terraform Enterprise"
