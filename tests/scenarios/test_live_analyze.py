"""`flowradar analyze --interface` on real traffic from real clients (curl, dig) in namespaces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest
from tests.scenarios.netns import sh, veth_pair

pytestmark = pytest.mark.scenario


def test_live_capture_reads_http_and_dns() -> None:
    for tool in ("curl", "dig"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    with veth_pair("frlv") as (a, b):
        server = subprocess.Popen(
            ["ip", "netns", "exec", b, sys.executable, "-m", "http.server", "8080", "--bind", "10.201.0.2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cmd = ["ip", "netns", "exec", a, sys.executable, "-m", "flowradar", "analyze", "-i", "va"]
        cmd += ["--duration", "4", "--json"]
        radar = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(1.5)
            for i in range(3):
                sh(
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-A",
                    "radar-test/1.0",
                    "-H",
                    f"Host: site{i}.flowradar.test",
                    "http://10.201.0.2:8080/",
                    ns=a,
                    check=False,
                )
            sh("dig", "+tries=1", "+time=1", "@10.201.0.2", "lookup.flowradar.test", "A", ns=a, check=False)
            out, err = radar.communicate(timeout=30)
        finally:
            server.terminate()
            radar.kill()
        assert radar.returncode == 0, err.decode()
        report = json.loads(out)
        assert report["packets"] > 10
        assert {f"site{i}.flowradar.test" for i in range(3)} <= set(report["http"]["hosts"])
        assert "radar-test/1.0" in report["http"]["user_agents"]
        assert "lookup.flowradar.test" in report["dns"]["queries"]
        assert any(
            k.startswith("tcp 10.201.0.1:") and k.endswith("10.201.0.2:8080") for k in report["flows"]["list"]
        )


def test_live_count_limit_and_bad_interface() -> None:
    with veth_pair("frlc") as (a, _b):
        cmd = ["ip", "netns", "exec", a, sys.executable, "-m", "flowradar", "analyze", "-i", "va"]
        radar = subprocess.Popen(
            [*cmd, "--count", "5", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        time.sleep(1.0)
        sh("ping", "-c", "10", "-i", "0.1", "10.201.0.2", ns=a, check=False)
        out, err = radar.communicate(timeout=30)
        assert radar.returncode == 0, err.decode()
        assert json.loads(out)["packets"] == 5
        bad = subprocess.run(
            [*cmd[:-1], "nosuchif0"], capture_output=True, text=True, timeout=30, check=False
        )
        assert (
            bad.returncode != 0
            and bad.stderr.startswith("flowradar: error: ")
            and "Traceback" not in bad.stderr
        )
