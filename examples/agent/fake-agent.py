#!/usr/bin/env python3
"""A stand-in for a coding-agent CLI (seed 004 runs Codex CLI per task), for a `command` pool.

Tidepool runs it once per task: the payload arrives as JSON on stdin, progress goes to
stderr (the task's log), the result is the JSON printed on stdout, exit 0 is success.

  payload {"prompt": "fix the failing test", "thinkMs": 800, "fail": false}
  result  {"answer": "...", "steps": 3, "model": "$AGENT_MODEL"}

Exit 65 (Tidepool's "do not retry" code) for a payload it cannot work with; exit 1 for a
failure worth retrying (payload "fail": true stands in for a flaky model API).
"""
import json
import os
import sys
import time


def main():
    try:
        payload = json.load(sys.stdin)
    except ValueError as err:
        print("fake-agent: stdin is not JSON: %s" % err, file=sys.stderr)
        return 65
    if not isinstance(payload, dict) or not isinstance(payload.get("prompt"), str):
        print("fake-agent: expected {\"prompt\": string}", file=sys.stderr)
        return 65
    # A CLI's own start-up: loading its config and model client.
    time.sleep(float(os.environ.get("AGENT_STARTUP_S", "0.2")))
    think_s = max(0, int(payload.get("thinkMs", 500))) / 1000.0
    steps = 3
    for step in range(1, steps + 1):
        print("step %d/%d: thinking about %r" % (step, steps, payload["prompt"][:60]), file=sys.stderr, flush=True)
        time.sleep(think_s / steps)
    if payload.get("fail") is True:
        print("fake-agent: the model API timed out", file=sys.stderr)
        return 1
    json.dump({"answer": "done: %s" % payload["prompt"], "steps": steps, "model": os.environ.get("AGENT_MODEL", "none")}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
