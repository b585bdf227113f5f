#!/bin/bash
# One EC2 instance's first boot, as cloud-init runs it. Called by node.ts as
#   unshare --mount --propagation private bash boot.sh NODE_DIR [SCRIPT]
# so every mount below lives in the node's own mount namespace and dies with it.
# With SCRIPT (a path as the node sees it), the same machine runs that script instead of the
# user data: the SSM agent running a command (ssm.ts), as root from / with the node's environment.
# Only one of these runs at a time per node (an overlay's upper and work dirs take one mount).
#
# The node gets its own /etc, /var, /opt, /root, /home, /srv and /usr/local: overlays over this
# machine's, whose changes land in NODE_DIR/upper/<dir> (where the simulator reads what the
# node installed); /tmp is NODE_DIR/tmp; everything else of / is read-only, so a script cannot
# touch the machine it runs on. NODE_DIR/upper was prepared before boot like an AMI: the AWS
# CLI's endpoint in /root/.aws/config, the sandbox CA in the system trust store, the user data
# in /var/lib/cloud/instance/. The network (node.env: http_proxy) leads to the instance
# metadata service and the installer download of the simulator; nothing else is reachable
# except this machine's loopback (the AWS emulator).
set -euo pipefail
node_dir=$1
script=${2:-}
# Read before /tmp and the overlays hide the node's folder (it may live under /tmp).
mapfile -t node_env < "$node_dir/node.env"
mkdir -p "$node_dir/upper/var/lib/tfe-sim" # before the overlay looks at it (see below)

for d in etc var opt root home srv usr/local; do
  [ -d "/$d" ] || continue
  mkdir -p "$node_dir/upper/$d" "$node_dir/work/$d"
  mount -t overlay "tfe-node-${d//\//-}" -o "lowerdir=/$d,upperdir=$node_dir/upper/$d,workdir=$node_dir/work/$d" "/$d"
done
# /var/lib/tfe-sim is where the node and the simulator talk (install.json, drain-requested,
# drained): bound straight to the node's disk, so each sees the other's new files at once (an
# overlay caches what it looked up, and the simulator writes beside it into the upper dir).
mount --bind "$node_dir/upper/var/lib/tfe-sim" /var/lib/tfe-sim
mkdir -p "$node_dir/tmp"
chmod 1777 "$node_dir/tmp"
mount --bind "$node_dir/tmp" /tmp
mount -o remount,bind,ro /

cd /
if [ -n "$script" ]; then
  # AWS-RunShellScript: the command's lines as one script, run by bash (no set -e implied).
  exec env -i "${node_env[@]}" bash "$script"
fi

# cloud-init: the user data is one script part; it runs as root from /, with a plain
# environment, its output going to /var/log/cloud-init-output.log (and to the console).
part=/var/lib/cloud/instance/scripts/part-001
chmod 0700 "$part"
cd /
exec env -i "${node_env[@]}" "$part"
