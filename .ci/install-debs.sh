#!/usr/bin/env bash
# Install the Debian packages named as arguments when they are missing and we can (root + apt-get).
# Never fails the build: without them musiclab falls back (and says how to get the real thing).
set -u
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "musiclab: apt-get not found; please install: ${missing[*]}" >&2; exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "musiclab: not root; please run: sudo apt-get install ${missing[*]}" >&2; exit 0
  fi
fi
echo "musiclab: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
  $sudo apt-get update -qq || true
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "musiclab: could not install ${missing[*]}; see the warnings in the notebooks" >&2
exit 0
