"""Loaded by every Python process of tests/ultralytics_export.sh (PYTHONPATH): refuses and records
any network use, so the test proves that ultralytics trains and exports with nothing downloaded.

A Python audit hook sees every socket connect/getaddrinfo and every urllib request, whichever
library makes it (requests, urllib3, urllib, socket). Each attempt is appended to
$NETWORK_AUDIT_LOG with the Python stack that made it, then fails with an OSError, as it would on
a machine without a network. The test fails when the log is not empty.
"""
import os
import sys
import traceback

_log = os.environ.get("NETWORK_AUDIT_LOG")
_EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request", "socket.sendto"}


def _refuse(event, args):
    if event not in _EVENTS:
        return
    if event == "socket.connect" and args and getattr(args[0], "family", None) == getattr(__import__("socket"), "AF_UNIX", None):
        return  # local sockets are not the network
    where = "".join(traceback.format_stack(limit=12)[:-1])
    with open(_log, "a") as f:
        f.write(f"{event} {args[1:] if event.startswith('socket.connect') else args}\n{where}\n")
    raise OSError(f"network use refused by the offline test: {event}")


if _log:
    sys.addaudithook(_refuse)
