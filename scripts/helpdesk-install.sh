#!/usr/bin/env bash
# Installs Debian's Request Tracker 5 and Redmine for the helpdesk tests, once per machine.
# Non-interactive: debconf is preseeded (SQLite databases made by dbconfig-common), and a
# policy-rc.d keeps the services these packages pull in (exim, apache, …) from starting.
set -euo pipefail
need=(request-tracker5 rt5-db-sqlite rt5-standalone redmine redmine-sqlite)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
# The test servers serve at / and log to stderr; each test run points RT at its own copy of the
# database (scripts/helpdesk.sh). Written every time, so an older machine gets it too.
site_config() {
  $sudo tee /etc/request-tracker5/RT_SiteConfig.d/90-tandem-test.pm >/dev/null <<'PM'
# Written by Tandem's scripts/helpdesk-install.sh for its test servers.
Set($WebPath, "");
Set($LogToSTDERR, "warning");
Set($LogToSyslog, undef);
Set($DatabaseName, $ENV{TANDEM_RT_DATABASE}) if $ENV{TANDEM_RT_DATABASE};
1;
PM
}
if [ ${#missing[@]} -eq 0 ]; then site_config; exit 0; fi
echo "helpdesk-install: installing ${missing[*]} (once per machine; a few minutes)"
# The root password only guards a test server on 127.0.0.1 that the tests start themselves.
$sudo debconf-set-selections <<'SEL'
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/rtname string tandem-test
request-tracker5 request-tracker5/organization string tandem.test
request-tracker5 request-tracker5/correspondaddress string rt@tandem.test
request-tracker5 request-tracker5/commentaddress string rt-comment@tandem.test
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1
request-tracker5 request-tracker5/initial-root-password password tandem-test-root
request-tracker5 request-tracker5/initial-root-password-again password tandem-test-root
request-tracker5 request-tracker5/install-cronjobs boolean false
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
SEL
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  own_policy=1
fi
trap '[ "$own_policy" -eq 1 ] && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/helpdesk-install.log 2>&1 \
  || { tail -40 /tmp/helpdesk-install.log >&2; exit 1; }
site_config
echo "helpdesk-install: done"
