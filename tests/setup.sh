#!/usr/bin/env bash
# Everything the test suite needs beyond pip: Debian's chromium (browser tests), nginx and
# wget (the benchmark's smoke test), redis-server (the fleet's tests start their own), pywb in
# a virtual environment of its own, and the test-bed WordPress (tests/testbed/wordpress-up.sh
# installs and starts it). Needs root or sudo.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then exec sudo "$0" "$@"; fi
here="$(cd "$(dirname "$0")" && pwd)"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)   # browser tests
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)              # benchmark's static server
command -v wget >/dev/null 2>&1 || missing+=(wget)            # benchmark's comparison
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)  # the fleet's broker
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)  # pywb's own environment
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null
fi
bash "$here/testbed/wordpress-up.sh"

# pywb pins redis 2.10 and fakeredis < 1, which Celery's Redis transport cannot run with: it
# gets an environment of its own (.tools/pywb), where the tests find wb-manager and wayback.
tools="$here/../.tools"
if [ ! -x "$tools/pywb/bin/wayback" ]; then
    python3 -m venv "$tools/pywb"
    "$tools/pywb/bin/python" -m pip install -q "pywb>=2.8"
fi
