"""Compiled application-protocol classifier; the specification is the Python in appid.py."""

PROTOCOLS: tuple[str, ...]
"""Every name the kernel can return."""

def guess_by_payload(transport: str, orig_port: int, resp_port: int, payload: bytes, /) -> str | None:
    """appid.reference_guess_by_payload in C; TypeError for arguments it does not take."""

def guess_by_port(transport: str, orig_port: int, resp_port: int, /) -> str | None:
    """appid_ports.guess_by_port in C; TypeError for arguments it does not take."""
