#!/usr/bin/env bash
# Installs the Debian packages praline needs, and only the missing ones.
# As root it runs apt-get install -y; otherwise it prints the command and fails.
# Quiet when nothing is missing, so `make test` and `make demo` stay idempotent.
set -euo pipefail
pkgs=(build-essential pkg-config clang libclang-rt-14-dev
      libzstd-dev libsnappy-dev zlib1g-dev liblz4-dev libbrotli-dev libxxhash-dev
      nettle-dev libcmocka-dev libyaml-dev libjansson-dev libpcre2-dev
      nodejs npm time bc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node/npm may come from outside Debian (nodesource, nvm): a working binary is enough.
filtered=()
for p in "${missing[@]}"; do
  case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    time) [ -x /usr/bin/time ] && continue ;;
    bc) command -v bc >/dev/null 2>&1 && continue ;;
  esac
  filtered+=("$p")
done
[ ${#filtered[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "praline: missing packages; run as root:" >&2
  echo "  apt-get install -y ${filtered[*]}" >&2
  exit 1
fi
echo "praline: installing ${filtered[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${filtered[@]}" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "${filtered[@]}" >/dev/null; }
