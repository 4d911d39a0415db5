#!/usr/bin/env bash
# stop-once.sh COMMAND [ARGS...] — run COMMAND in its own process group and pass it
# exactly ONE SIGTERM when this script gets SIGTERM or SIGINT.
#
# For the Procfile's worker line. honcho (and foreman) stop a process by signalling its
# whole process group; Dramatiq's master then forwards the signal to its worker
# processes, so each worker gets two SIGTERMs, and Dramatiq takes the second one as
# "kill now": it exits mid-message (the message is redelivered later). Here only this
# script is in honcho's group; the master gets one SIGTERM from us and stops its
# workers gracefully (they finish the message in hand). COMMAND's exit status is ours.
set -u

if (( $# == 0 )); then
    echo "usage: stop-once.sh COMMAND [ARGS...]" >&2
    exit 2
fi

# A backgrounded job of a non-interactive shell is not a process-group leader, so
# setsid execs in place: $! is COMMAND's pid, in a session of its own.
setsid "$@" &
child=$!
signalled=0

forward() {
    if (( signalled == 0 )); then
        signalled=1
        kill -TERM "$child" 2>/dev/null || true
    fi
}
trap forward TERM INT

# `wait` returns early (status > 128) when a trapped signal arrives: wait again
# until the child has really exited, then return its status.
while true; do
    wait "$child"
    status=$?
    if ! kill -0 "$child" 2>/dev/null; then
        exit "$status"
    fi
done
