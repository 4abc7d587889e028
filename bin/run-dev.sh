#!/usr/bin/env bash
# Serve the project for local development: daphne (HTTP + websockets) and the task worker,
# side by side. Ctrl-C (or SIGTERM) stops both; if either exits, the other is stopped too.
# Run through `make run`, which prepares the virtualenv, database and demo data first.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}

pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "Stopping daphne and the task worker..."
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# A reconnect storm (a deploy, a network blip on many phones) must not lock customers out:
# daphne drops a websocket whose app has not accepted it within --websocket_connect_timeout
# (default 5 s) without a word ("connection closed while reading HTTP status line"), and a
# busy process needs longer than that for hundreds of handshakes at once; Twisted's default
# listen backlog of 50 drops the rest of the SYNs of such a storm. And each socket's connect
# and disconnect asks the database on daphne's one sync thread: a new PostgreSQL connection
# for each call (DATABASE_CONN_MAX_AGE=0) tripled the time 500 reconnects took, so daphne
# keeps its connection (tests/faults/servers.py starts it the same way; bench/faults.py
# shows all three).
DATABASE_CONN_MAX_AGE=${DATABASE_CONN_MAX_AGE:-60} "$BIN/daphne" \
    -e "tcp:port=$PORT:interface=$HOST:backlog=${DAPHNE_BACKLOG:-1024}" \
    --websocket_connect_timeout "${DAPHNE_CONNECT_TIMEOUT:-30}" \
    mywallet_support.asgi:application &
pids+=($!)
"$BIN/python" manage.py run_worker --queue-name '*' --no-reload &
pids+=($!)

cat <<MSG

  MY Wallet Support is running (Ctrl-C stops it):
    Agent workspace   http://$HOST:$PORT/admin/
    Customer chat     http://$HOST:$PORT/chat/
    Health            http://$HOST:$PORT/healthz

  Demo logins (password + the code from your authenticator app or a backup code) are
  printed above by seed_demo; run '.venv/bin/python manage.py seed_demo' again for
  fresh codes.

MSG

# Whichever stops first (a crash, or Ctrl-C) brings the other down with it.
set +e
wait -n "${pids[@]}"
status=$?
set -e
echo "A process exited (status $status)."
exit "$status"
