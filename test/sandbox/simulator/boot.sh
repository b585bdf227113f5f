#!/bin/bash
# One EC2 instance's first boot, as cloud-init runs it. Called by node.ts as
#   unshare --mount --propagation private bash boot.sh NODE_DIR
# so every mount below lives in the node's own mount namespace and dies with it.
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
# Read before /tmp and the overlays hide the node's folder (it may live under /tmp).
mapfile -t node_env < "$node_dir/node.env"

for d in etc var opt root home srv usr/local; do
  [ -d "/$d" ] || continue
  mkdir -p "$node_dir/upper/$d" "$node_dir/work/$d"
  mount -t overlay "tfe-node-${d//\//-}" -o "lowerdir=/$d,upperdir=$node_dir/upper/$d,workdir=$node_dir/work/$d" "/$d"
done
mkdir -p "$node_dir/tmp"
chmod 1777 "$node_dir/tmp"
mount --bind "$node_dir/tmp" /tmp
mount -o remount,bind,ro /

# cloud-init: the user data is one script part; it runs as root from /, with a plain
# environment, its output going to /var/log/cloud-init-output.log (and to the console).
part=/var/lib/cloud/instance/scripts/part-001
chmod 0700 "$part"
cd /
exec env -i "${node_env[@]}" "$part"
