#!/usr/bin/env bash
# Everything the test suite needs beyond pip: Debian's chromium (browser tests) and the
# test-bed WordPress (tests/testbed/wordpress-up.sh installs and starts it). Needs root or sudo.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then exec sudo "$0" "$@"; fi
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v chromium >/dev/null 2>&1; then
    echo "installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q chromium >/dev/null
fi
bash "$here/testbed/wordpress-up.sh"
