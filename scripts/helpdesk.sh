#!/usr/bin/env bash
# Throwaway Request Tracker 5 and Redmine servers for the tests, on 127.0.0.1 and ports the OS picks,
# each on its own copy of the database the packages made (scripts/helpdesk-install.sh installs them).
#   scripts/helpdesk.sh start-rt DIR        prints the URL; DIR/token holds a REST2 token of RT's root
#   scripts/helpdesk.sh start-redmine DIR   prints the URL; DIR/key holds the admin's API key; the
#                                           REST API is on and project "tandem-test" exists
#   scripts/helpdesk.sh stop-rt DIR         stops only Request Tracker (a helpdesk that went down)
#   scripts/helpdesk.sh restart-rt DIR      starts it again on the same port, database and token
#   scripts/helpdesk.sh stop DIR            stops what was started in DIR, by its pid
set -euo pipefail
cmd="${1:?start-rt|start-redmine|stop}"
dir="${2:?folder}"
mkdir -p "$dir"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits (at most 90 s) for a URL to answer, or for the server's pid to exit.
wait_for() {
  local url="$1" pid="$2" log="$3"
  for _ in $(seq 1 180); do
    curl -s -o /dev/null --max-time 2 "$url" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "helpdesk.sh: the server exited:" >&2; tail -20 "$log" >&2; return 1; }
    sleep 0.5
  done
  echo "helpdesk.sh: $url did not answer within 90 s" >&2; tail -20 "$log" >&2; return 1
}
stop_pid_file() {
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
run_rt() {
  local port="$1"
  TANDEM_RT_DATABASE="$dir/rtdb" /usr/share/request-tracker5/libexec/rt-server --listen "127.0.0.1:$port" >>"$dir/rt.log" 2>&1 &
  echo $! >"$dir/rt.pid"
  echo "$port" >"$dir/rt.port"
  wait_for "http://127.0.0.1:$port/REST/2.0/" "$(cat "$dir/rt.pid")" "$dir/rt.log"
  echo "http://127.0.0.1:$port"
}
case "$cmd" in
stop-rt)
  stop_pid_file "$dir/rt.pid"
  ;;
restart-rt)
  stop_pid_file "$dir/rt.pid"
  run_rt "$(cat "$dir/rt.port")" >/dev/null
  ;;
start-rt)
  rt=/usr/share/request-tracker5
  [ -x "$rt/libexec/rt-server" ] || { echo "helpdesk.sh: Request Tracker is not installed (run scripts/helpdesk-install.sh)" >&2; exit 1; }
  cp /var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb "$dir/rtdb"
  export TANDEM_RT_DATABASE="$dir/rtdb"
  # A REST2 token for root, made in RT's own database by RT's own code.
  perl -I"$rt/lib" -e '
    use RT; RT::LoadConfig(); RT::Init();
    my $u = RT::User->new(RT->SystemUser); $u->Load("root");
    my $t = RT::AuthToken->new(RT->SystemUser);
    my ($ok, $msg, $token) = $t->Create(Owner => $u->Id, Description => "tandem tests");
    $ok or die "could not make a token: $msg\n";
    print "$token\n";' >"$dir/token" 2>"$dir/token.log" || { cat "$dir/token.log" >&2; exit 1; }
  chmod 600 "$dir/token"
  : >"$dir/rt.log"
  run_rt "$(free_port)"
  ;;
start-redmine)
  rm_root=/usr/share/redmine
  [ -d "$rm_root" ] || { echo "helpdesk.sh: Redmine is not installed (run scripts/helpdesk-install.sh)" >&2; exit 1; }
  cp /var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default "$dir/redmine.sqlite3"
  export X_DEBIAN_SITEID=default RAILS_ENV=production DATABASE_URL="sqlite3:$dir/redmine.sqlite3"
  (cd "$rm_root" && bin/rails runner '
    Setting.rest_api_enabled = "1"
    admin = User.find_by!(login: "admin")
    admin.update!(must_change_passwd: false)
    project = Project.create!(name: "Tandem test", identifier: "tandem-test", is_public: false, tracker_ids: Tracker.pluck(:id))
    project.enabled_module_names = ["issue_tracking"]
    File.write(ARGV[0], admin.api_key + "\n")' "$dir/key") >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; exit 1; }
  chmod 600 "$dir/key"
  port="$(free_port)"
  # webrick is not in Redmine's Gemfile: -rwebrick loads it.
  (cd "$rm_root" && exec ruby -rwebrick bin/rails server -u webrick -b 127.0.0.1 -p "$port" -P "$dir/redmine.pid") >"$dir/redmine.log" 2>&1 &
  echo $! >"$dir/redmine.pid.shell"
  wait_for "http://127.0.0.1:$port/" "$(cat "$dir/redmine.pid.shell")" "$dir/redmine.log"
  echo "http://127.0.0.1:$port"
  ;;
stop)
  for f in "$dir/rt.pid" "$dir/redmine.pid" "$dir/redmine.pid.shell"; do stop_pid_file "$f"; done
  ;;
*)
  echo "usage: helpdesk.sh start-rt|start-redmine|stop-rt|restart-rt|stop DIR" >&2; exit 2
  ;;
esac
