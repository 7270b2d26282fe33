#!/usr/bin/env python3
"""A Tidepool `process` worker in Python (standard library only).

Speaks the worker protocol v1 (docs/worker-protocol.md): JSON lines on stdin/stdout.
Serves two task types:
  echo   returns its payload
  sleep  {"ms": N}: sleeps N ms, sending progress every second, returns {"slept": N}
         ({"ms": N, "failAttempts": K} fails its first K attempts after the sleep: for load tests)
A namespaced type ("load-7f3a:sleep") is served by the handler of its last part.

Run it under a pool:  {"name": "py", "kind": "process", "types": ["echo", "sleep"],
                       "command": ["python3", "examples/workers/worker.py"]}
"""
import json
import os
import sys
import time

PROTOCOL = 1
_out = sys.stdout


def send(message):
    _out.write(json.dumps(message, separators=(",", ":")) + "\n")
    _out.flush()


def handle_echo(task):
    return task["payload"]


def handle_sleep(task):
    payload = task.get("payload") or {}
    ms = payload.get("ms", 0) if isinstance(payload, dict) else 0
    if not isinstance(ms, (int, float)) or ms < 0:
        raise ValueError("sleep: payload.ms must be a non-negative number, got %r" % (ms,))
    end = time.monotonic() + ms / 1000.0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(left, 1.0))
        send({"type": "progress", "id": task["id"]})
    if task.get("attempt", 1) <= payload.get("failAttempts", 0):
        raise RuntimeError("sleep: failing attempt %d as asked (payload.failAttempts)" % task.get("attempt", 1))
    return {"slept": ms}


HANDLERS = {"echo": handle_echo, "sleep": handle_sleep}


def main():
    # Anything a handler prints goes to stderr (the task log), never into the protocol.
    sys.stdout = sys.stderr
    send({"type": "ready", "protocol": PROTOCOL, "types": sorted(HANDLERS), "pid": os.getpid()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except ValueError:
            print("worker.py: not JSON: %r" % line[:200], file=sys.stderr)
            continue
        kind = message.get("type")
        if kind == "shutdown":
            return 0
        if kind != "task":
            continue  # cancel and future messages: a one-task-at-a-time worker has nothing to do
        task_type = str(message.get("taskType"))
        handler = HANDLERS.get(task_type) or HANDLERS.get(task_type.rsplit(":", 1)[-1])
        if handler is None:
            send({"type": "error", "id": message["id"], "message": "no handler for type %r" % task_type, "code": "UnknownType", "retryable": False})
            continue
        try:
            send({"type": "log", "id": message["id"], "text": "%s attempt %d" % (task_type, message.get("attempt", 1))})
            send({"type": "result", "id": message["id"], "value": handler(message)})
        except Exception as err:  # the task fails, the worker lives on
            send({"type": "error", "id": message["id"], "message": "%s: %s" % (type(err).__name__, err), "code": "HandlerError"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
