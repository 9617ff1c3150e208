#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the real-connection suite, run as an
# unprivileged user. Usage: cluster.sh up DIR | down DIR | start DIR | stop DIR | restart DIR
#   up       initdb into DIR (as that user), pick a free port, start; prints the connection
#            string on its last line
#   down     stop (fast) and delete DIR
#   start / stop / restart   pg_ctl with -m fast, waiting until done
# Environment: PG_USER (default nobody), PG_BIN (default: the newest /usr/lib/postgresql/*/bin).
set -euo pipefail
cmd=${1:?usage: cluster.sh up|down|start|stop|restart DIR}
dir=${2:?usage: cluster.sh up|down|start|stop|restart DIR}
user=${PG_USER:-nobody}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bin/pg_ctl" ] || { echo "no PostgreSQL server binaries (looked in '$bin')" >&2; exit 1; }

as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}
ctl() { as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 "$@" >/dev/null; }

case "$cmd" in
  up)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown "$user" "$dir"
    as_user "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$dir'"
      echo "max_connections = 100"
      echo "fsync = off"
    } | as_user tee -a "$dir/data/postgresql.conf" >/dev/null
    ctl start
    echo "host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=2"
    ;;
  down)
    if [ -f "$dir/data/postmaster.pid" ]; then ctl -m fast stop || true; fi
    rm -rf "$dir"
    ;;
  start) ctl start ;;
  stop) ctl -m fast stop ;;
  restart) ctl -m fast restart ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
