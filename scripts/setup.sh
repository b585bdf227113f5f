#!/usr/bin/env bash
# The set-up `make demo` and `make test` run first (also `make setup`). Each step runs only when
# it is needed, so a machine that has everything pays about a second:
#   Debian packages   redis-server, postgresql, openssl, jq, curl, util-linux (unshare); for `test` also
#                     lua5.1, shellcheck, and for the image buildah, podman, runc, mmdebstrap
#                                                         apt-get: needs root (or sudo)
#   Python packages   moto[server]==5.2.1 (the AWS emulator), awscli==1.45.11 (the simulated
#                     nodes run it)                       pip, into the python3 on PATH
#   npm ci            when node_modules is missing or older than package-lock.json
#   control plane     kube-apiserver + etcd built from the Go module proxy into .cache/controlplane/
#                     (skipped when cached or when KUBEBUILDER_ASSETS / TEST_ASSET_* name binaries)
# Not installed here: Node.js >= 20 with npm, Go >= 1.23, Python 3.11, kubectl >= 1.30 (the
# machine image has them; Debian's kubectl is too old).
#
#   scripts/setup.sh demo|test        SETUP_SKIP=1 skips it all (you keep the machine ready yourself)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-test}"
[[ "${SETUP_SKIP:-}" == 1 ]] && exit 0
t0=$(date +%s%N)
say() { echo "[setup] $*"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

need() { command -v "$1" >/dev/null 2>&1 || { say "ERROR: $1 is not installed. $2"; exit 1; }; }
need node "Install Node.js 20 or newer (with npm)."
need npm "Install npm (it comes with Node.js)."
# Go builds kube-apiserver and etcd (unless cached or KUBEBUILDER_ASSETS names them: build-controlplane
# says so itself) and, for the tests, the checkers under tools/.
[[ "$what" == test ]] && need go "Install Go 1.23 or newer: it builds kube-apiserver, etcd and the checkers under tools/ from the Go module proxy."
need python3 "Install Python 3.11."
need kubectl "Install kubectl 1.30 or newer (Debian's kubernetes-client is too old)."

# --- Debian packages ---------------------------------------------------------------------
declare -A pkg_of=([redis-server]=redis-server [openssl]=openssl [jq]=jq [curl]=curl [unshare]=util-linux [lua5.1]=lua5.1
  [shellcheck]=shellcheck [buildah]=buildah [podman]=podman [runc]=runc [mmdebstrap]=mmdebstrap)
cmds=(redis-server openssl jq curl unshare)
# The tests also lint with shellcheck, run Lua 5.1, and build and run the image (buildah, podman, runc, mmdebstrap).
[[ "$what" == test ]] && cmds+=(lua5.1 shellcheck buildah podman runc mmdebstrap)
missing=()
for c in "${cmds[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("${pkg_of[$c]}"); done
# The sandbox PostgreSQL: Debian keeps initdb and postgres in /usr/lib/postgresql/<v>/bin, off PATH.
command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if ((${#missing[@]})); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { say "ERROR: missing Debian packages ${missing[*]}; installing them needs root: apt-get install ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq || say "apt-get update failed; trying the install anyway"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! redis-server --version | grep -q 'v=[7-9]'; then say "WARNING: $(redis-server --version): the sandbox wants Redis 7 (built with TLS)"; fi

# --- Python packages ---------------------------------------------------------------------
pip_missing=()
python3 -c 'import moto, flask, flask_cors' 2>/dev/null || pip_missing+=("moto[server]==5.2.1")
python3 -c 'import awscli' 2>/dev/null || pip_missing+=("awscli==1.45.11")
if ((${#pip_missing[@]})); then
  say "pip install ${pip_missing[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${pip_missing[@]}"
fi

# --- npm ci --------------------------------------------------------------------------------
# npm ci writes node_modules/.package-lock.json; it is older than package-lock.json when the
# lock file changed since (a pull, a checkout).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci (node_modules missing or older than package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
fi

# --- control plane -------------------------------------------------------------------------
scripts/build-controlplane.sh | sed -n "1s/^/[setup] /p"

say "ready for make $what in $(ms "$t0") ms"
