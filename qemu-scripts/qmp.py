#!/usr/bin/env python3
"""QEMU's monitor (QMP) for the harness: save a booted guest, restore one, or
run one command.

  qmp.py SOCKET run CMD-JSON           one command (e.g. device_del); its reply
  qmp.py SOCKET save FILE              stop the guest and migrate it to FILE
  qmp.py SOCKET restore FILE [DEV]...  load FILE into a QEMU started with
                                       -incoming defer, hot-add each DEV (a
                                       device_add argument object, JSON), then
                                       let the guest run

Migration uses the mapped-ram capability: RAM pages sit at fixed offsets in
the file, so a load is one read per RAM block, not a parse of a stream.
Exits 1 with QEMU's own error message when a command fails.
"""
import json
import socket
import sys
import time

CONNECT_TIMEOUT_S = 30
MIGRATION_TIMEOUT_S = 300
CAPABILITIES = [{"capability": "mapped-ram", "state": True}]


class QmpError(Exception):
    pass


class Monitor:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise QmpError(f"cannot reach QEMU's monitor at {path}: {e} (did QEMU start? see its log)")
                time.sleep(0.02)
        self.file = self.sock.makefile("rw")
        self.file.readline()  # greeting
        self.execute("qmp_capabilities")

    def execute(self, command, arguments=None):
        msg = {"execute": command}
        if arguments is not None:
            msg["arguments"] = arguments
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                raise QmpError(f"QEMU closed its monitor during {command} (did it crash? see its log)")
            reply = json.loads(line)
            if "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            if "return" in reply:
                return reply["return"]

    def wait_for_migration(self, what):
        deadline = time.monotonic() + MIGRATION_TIMEOUT_S
        while time.monotonic() < deadline:
            info = self.execute("query-migrate")
            status = info.get("status")
            if status == "completed":
                return info
            if status in ("failed", "cancelled"):
                raise QmpError(f"{what} {status}: {info.get('error-desc', 'QEMU gave no reason; see its log')}")
            time.sleep(0.02)
        raise QmpError(f"{what} did not finish within {MIGRATION_TIMEOUT_S} s")


def save(mon, path):
    mon.execute("stop")
    mon.execute("migrate-set-capabilities", {"capabilities": CAPABILITIES})
    mon.execute("migrate", {"uri": f"file:{path}"})
    mon.wait_for_migration(f"saving the guest to {path}")
    mon.execute("quit")


def restore(mon, path, devices):
    mon.execute("migrate-set-capabilities", {"capabilities": CAPABILITIES})
    mon.execute("migrate-incoming", {"uri": f"file:{path}"})
    mon.wait_for_migration(f"loading the saved guest {path}")
    for dev in devices:
        try:
            mon.execute("device_add", dev)
        except QmpError as e:
            raise QmpError(f"hot-adding {dev.get('id', dev)} after the restore: {e}")
    mon.execute("cont")


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    try:
        mon = Monitor(argv[1])
        verb, rest = argv[2], argv[3:]
        if verb == "run" and len(rest) == 1:
            cmd = json.loads(rest[0])
            print(json.dumps(mon.execute(cmd["execute"], cmd.get("arguments"))))
        elif verb == "save" and len(rest) == 1:
            save(mon, rest[0])
        elif verb == "restore" and len(rest) >= 1:
            restore(mon, rest[0], [json.loads(d) for d in rest[1:]])
        else:
            sys.exit(__doc__)
    except (QmpError, json.JSONDecodeError) as e:
        sys.exit(f"qmp: {e}")


if __name__ == "__main__":
    main(sys.argv)
