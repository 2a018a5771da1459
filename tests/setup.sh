#!/usr/bin/env bash
# Everything the test suite needs beyond pip: Debian's chromium (browser tests), nginx and
# wget (the benchmark's smoke test), and the test-bed WordPress (tests/testbed/wordpress-up.sh
# installs and starts it). Needs root or sudo.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then exec sudo "$0" "$@"; fi
here="$(cd "$(dirname "$0")" && pwd)"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)   # browser tests
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)              # benchmark's static server
command -v wget >/dev/null 2>&1 || missing+=(wget)            # benchmark's comparison
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null
fi
bash "$here/testbed/wordpress-up.sh"
