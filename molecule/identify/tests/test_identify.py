"""Identify over the harness fleet: the report says exactly what each container carries."""

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

REPORTS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "reports"

# host -> (status, {product: (state, version)}) as the harness put it on the container.
EXPECTED = {
    "kesl12": ("affected", {"kesl": ("installed", "12.1.0.1508"),
                            "klnagent": ("installed", "15.4.0.8873"),
                            "leftovers": ("residual", None)}),      # the kept apt source
    "kesl10": ("affected", {"kesl": ("installed", "10.1.1.6421")}),
    "legacy": ("affected", {"kav4fs": ("installed", "8.0.4.312"),
                            "kes4lwks": ("installed", "8.0.1.50")}),
    "clean": ("clean", {}),
    "residual": ("residual", {"kesl": ("residual", "12.1.0.1508"),
                              "klnagent": ("residual", "15.4.0.8873")}),
}


def load(mode):
    with open(REPORTS / mode / "divest-identify.json", encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module", params=["check", "run"])
def report(request):
    return load(request.param)


def hosts(report):
    return {h["name"]: h for h in report["hosts"]}


MACHINE = "scenario_machine"   # the machine running the scenario (ansible_connection: local)
EXTRA = {"ghost", "broken", MACHINE}


def test_every_inventory_host_is_accounted_for(report):
    assert set(hosts(report)) == set(EXPECTED) | EXTRA
    assert report["summary"]["hosts"] == len(EXPECTED) + len(EXTRA)


def test_unreachable_and_failed_hosts_are_reported_as_such(report):
    ghost = hosts(report)["ghost"]
    assert (ghost["status"], ghost["findings"]) == ("unreachable", [])
    assert f"divest-{os.environ['DIVEST_NS']}-identify-ghost" in ghost["error"]["message"]
    broken = hosts(report)["broken"]
    assert (broken["status"], broken["findings"]) == ("failed", [])
    assert broken["error"]["message"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_match_what_the_container_carries(report, name):
    status, products = EXPECTED[name]
    host = hosts(report)[name]
    found = {f["product"]: (f["state"], f["version"]) for f in host["findings"]}
    assert (host["status"], found) == (status, products)


def test_check_mode_finds_the_same_as_a_real_run():
    def essence(rep):
        return {n: (h["status"], sorted((f["product"], f["state"], f["version"]) for f in h["findings"]))
                for n, h in hosts(rep).items()}
    assert essence(load("check")) == essence(load("run"))


def test_evidence_says_why(report):
    kesl12 = {f["product"]: f for f in hosts(report)["kesl12"]["findings"]}
    kinds = {(e["kind"], e["name"]) for e in kesl12["kesl"]["evidence"]}
    assert {("package", "kesl"), ("package", "kesl-gui"), ("service", "kesl"), ("process", "kesl")} <= kinds
    service = [e for e in kesl12["kesl"]["evidence"] if e["kind"] == "service"][0]
    assert service["state"] == "running"
    legacy = {f["product"]: f for f in hosts(report)["legacy"]["findings"]}
    assert ("service", "kav4fs-supervisor") in {(e["kind"], e["name"]) for e in legacy["kav4fs"]["evidence"]}


def test_counts_and_csv_rows(report):
    by_status = report["summary"]["by_status"]
    assert (by_status["affected"], by_status["residual"], by_status["clean"], by_status["unreachable"],
            by_status["failed"]) == (3, 1, 2, 1, 1)   # clean: the clean container and the machine
    with open(REPORTS / "run" / "divest-identify.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # one row per host x product, one row for a host without findings
    expected_rows = sum(max(1, len(products)) for _status, products in EXPECTED.values()) + len(EXTRA)
    assert len(rows) == expected_rows
    assert {r["host"] for r in rows} == set(EXPECTED) | EXTRA


def test_html_report_is_self_contained():
    page = (REPORTS / "run" / "divest-identify.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page
    assert "<script src=" not in page and "<link " not in page
    for name in EXPECTED:
        assert name in page


def container_id(host):
    name = f"divest-{os.environ['DIVEST_NS']}-identify-{host}"
    out = subprocess.run(["podman", "inspect", "--format", "{{.Id}}", name], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True, timeout=60)
    return out.stdout.strip()


def test_the_machine_running_the_fleet_is_clean_and_lists_the_containers_apart(report):
    """The issue: scanned from the machine, the harness containers' kesl and klnagent daemons
    (seen through the shared /proc) made it residual. They are the containers': no finding,
    listed apart with podman and the container's id."""
    machine = hosts(report)[MACHINE]
    assert (machine["status"], machine["findings"]) == ("clean", [])
    kesl12 = container_id("kesl12")
    listed = {(c["runtime"], c["id"], c["product"]) for c in machine["containers"]}
    assert {("podman", kesl12, "kesl"), ("podman", kesl12, "klnagent")} <= listed
    assert all(c["scope"] == "container" for c in machine["containers"] if c["id"] == kesl12)
    seen = {e["name"] for c in machine["containers"] if c["id"] == kesl12 for e in c["evidence"]}
    assert {"kesl", "klnagent"} <= seen
    # inside the container, the same daemons are the container's own (the host it is)
    inside = {f["product"] for f in hosts(report)["kesl12"]["findings"]}
    assert {"kesl", "klnagent"} <= inside and "containers" not in hosts(report)["kesl12"]


def test_html_report_lists_the_containers_apart():
    page = (REPORTS / "run" / "divest-identify.html").read_text(encoding="utf-8")
    assert 'id="containers"' in page
    assert f'<tr><th scope="row">{MACHINE}</th><td class="mono">podman {container_id("kesl12")[:12]}</td>' in page
