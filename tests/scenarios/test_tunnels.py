"""Tunnels are keyed on the innermost header.

VXLAN: real kernel tunnels between two namespaces, real ping traffic, captured by tcpdump.
GRE, 6in4, 4in6 and Teredo (this kernel has no GRE/sit/ip6tnl modules): packets of that same real
capture are re-encapsulated with scapy into each tunnel format, as an on-path tunnel would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.scenarios.netns import sh, tcpdump, veth_pair

from flowradar.capture.files import open_capture
from flowradar.config import EngineConfig
from flowradar.engine.analyze import analyze_capture
from flowradar.engine.pipeline import Engine

pytestmark = pytest.mark.scenario


def _vxlan_capture(tmp: Path) -> Path:
    pcap = tmp / "vxlan.pcap"
    with veth_pair("frvx") as (a, b):
        for ns, me, peer in ((a, 1, 2), (b, 2, 1)):
            sh(
                "ip",
                "link",
                "add",
                "vx0",
                "type",
                "vxlan",
                "id",
                "42",
                "remote",
                f"10.201.0.{peer}",
                "local",
                f"10.201.0.{me}",
                "dstport",
                "4789",
                "dev",
                "va" if me == 1 else "vb",
                ns=ns,
            )
            sh("ip", "addr", "add", f"10.202.2.{me}/30", "dev", "vx0", ns=ns)
            sh("ip", "link", "set", "vx0", "up", ns=ns)
        with tcpdump(a, "va", pcap):
            sh("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.202.2.2", ns=a)
    return pcap


def test_vxlan_inner_flow(tmp_path: Path) -> None:
    pcap = _vxlan_capture(tmp_path)
    engine = Engine(EngineConfig())
    source = open_capture(pcap)
    recs = [r for batch in engine.run(source) for r in batch.records()]
    source.close()
    inner = [r for r in recs if r.key() == "icmp 10.202.2.1:0 <-> 10.202.2.2:0"]
    assert len(inner) == 1 and inner[0].src_packets == 3 and inner[0].dst_packets == 3, recs
    # only frames with no IP inside (ARP) stay on the outer VXLAN/UDP flow
    outer = [r for r in recs if r.transport == "udp" and 4789 in (r.src_port, r.dst_port)]
    assert sum(r.src_packets + r.dst_packets for r in outer) <= 4


def test_gre_6in4_4in6_teredo_inner_flows(tmp_path: Path) -> None:
    scapy = pytest.importorskip("scapy.all")
    frames_in = scapy.rdpcap(str(_vxlan_capture(tmp_path)))
    inner4 = [p for p in frames_in if p.haslayer(scapy.VXLAN) and p[scapy.VXLAN].payload.haslayer(scapy.IP)]
    assert inner4, "no VXLAN packets captured"
    icmp4 = [p[scapy.VXLAN].payload[scapy.IP] for p in inner4]
    icmp6 = [
        scapy.IPv6(src="fd00:203::1", dst="fd00:203::2")
        / scapy.ICMPv6EchoRequest(id=7, seq=i, data=bytes(p.payload))
        for i, p in enumerate(icmp4)
    ]
    eth = scapy.Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    outer4 = scapy.IP(src="10.201.0.1", dst="10.201.0.2")
    outer6 = scapy.IPv6(src="fd00:201::1", dst="fd00:201::2")
    frames = []
    frames += [eth / outer4 / scapy.GRE() / p for p in icmp4]  # GRE, IPv4 payload
    frames += [eth / outer4 / scapy.GRE(key_present=1, key=5) / p for p in icmp6]  # GRE with key, IPv6 inside
    frames += [eth / outer4 / p for p in icmp6]  # 6in4 (protocol 41)
    frames += [eth / outer6 / p for p in icmp4]  # 4in6 (next header 4)
    frames += [eth / outer4 / scapy.UDP(sport=50000, dport=3544) / p for p in icmp6]  # Teredo
    out = tmp_path / "tunnels.pcap"
    scapy.wrpcap(str(out), frames)
    keys = set(analyze_capture(out)[0].flow_keys())
    assert keys == {"icmp 10.202.2.1:0 <-> 10.202.2.2:0", "icmpv6 [fd00:203::1]:0 <-> [fd00:203::2]:0"}, keys
