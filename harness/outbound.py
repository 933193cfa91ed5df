"""Watching a process tree for connections that would leave the machine, with Debian's strace.

``traced(command, log)`` runs ``command`` under ``strace -f`` (children and threads too: the training
worker a server starts, TensorFlow's threads) recording every ``connect``, ``sendto`` and ``sendmsg``
that names an address; ``outbound(log)`` returns those to an AF_INET or AF_INET6 address other than
loopback. A UDP ``connect`` counts although it sends nothing (it is how a program asks which interface
faces the internet), and a name lookup shows as the resolver's address. AF_UNIX and netlink stay local.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path

STRACE = ["strace", "--seccomp-bpf", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,accept,accept4", "-e",
          "signal=none"]
"""``--seccomp-bpf``: only the traced calls stop the process, so the server runs at nearly full speed."""

_INET = re.compile(r'sa_family=AF_INET6?, [^}]*?(?:inet_addr\("(?P<v4>[^"]+)"\)|inet_pton\(AF_INET6?, "(?P<v6>[^"]+)")')


def strace_missing() -> str | None:
    """Why the watch cannot run here (no strace on PATH), else None."""
    return None if shutil.which("strace") else "strace is missing (apt-get install strace)"


def traced(command: list[str], log: Path) -> list[str]:
    """``command`` under strace, writing what it records to ``log``."""
    return [*STRACE, "-o", str(log), *command]


def _is_local(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def outbound(log: Path) -> list[str]:
    """The recorded calls (strace's lines) that address anything but this machine's loopback."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines
            if (found := _INET.search(line)) and not _is_local(found["v4"] or found["v6"])]
