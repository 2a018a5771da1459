#!/usr/bin/env bash
# Rebuild one test-bed site from a clean database, as wordpress-up.sh built it: for tests that
# change a site (scratch), before and after. Needs wordpress-up.sh to have run once.
#
#   tests/testbed/reset-site.sh scratch
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    ports="$(compgen -e | grep '^TA_WP_.*_PORT$' | paste -sd, -)" || true
    exec sudo ${ports:+--preserve-env="$ports"} "$0" "$@"
fi
if [ $# != 1 ]; then echo "usage: $0 SITE (a name in sites.json)" >&2; exit 2; fi
source "$(cd "$(dirname "$0")" && pwd)/sites.sh"
site_port "$1" >/dev/null
install_child_themes
reset_site "$1"
wait_for_site "$1"
