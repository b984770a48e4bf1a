#!/usr/bin/env bash
# One-time set-up of a fresh clone: the Debian packages the test suite drives (Chromium for
# the browser test; radclient from freeradius-utils, slapd and ldap-utils for the RADIUS
# relay's tests, radsecproxy for its RadSec tests; FreeRADIUS and rlm_rest for the benchmark), then the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v radclient >/dev/null 2>&1 || need+=(freeradius-utils)
[ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapsearch >/dev/null 2>&1 || need+=(ldap-utils)
command -v freeradius >/dev/null 2>&1 || need+=(freeradius) # npm run bench compares against it
[ -f /usr/lib/freeradius/rlm_rest.so ] || need+=(freeradius-rest) # the bench's REST-backed FreeRADIUS peer
[ -x /usr/sbin/radsecproxy ] || need+=(radsecproxy) # a real RadSec client for the relay's TLS listener tests
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends "${need[@]}" || {
    $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${need[@]}"
  }
fi

# node@22 comes in as a devDependency (wrangler needs Node >= 22.12), so any Node runs this.
# `npm install` rather than `npm ci`: npm 11 leaves workerd's other-platform optional packages
# out of the lock file and `npm ci` then refuses it; install honours the locked versions.
npm install --no-audit --no-fund
