"""Plan over the harness fleet: the plan document matches what each container carries."""

import hashlib
import json
import os
from pathlib import Path

import pytest

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
REPORTS = EPHEMERAL / "reports"
FACTS = EPHEMERAL / "facts"

# host -> (status, {product: version}) as the harness put it on the container
EXPECTED = {
    "kesl12": ("affected", {"kesl": "12.1.0.1508", "klnagent": "15.4.0.8873"}),
    "kesl10": ("affected", {"kesl": "10.1.1.6421"}),
    "legacy": ("affected", {"kav4fs": "8.0.4.312", "kes4lwks": "8.0.1.50"}),
    "ksc": ("affected", {"klnagent": "15.4.0.8873", "ksc-web-console": "15.4.1021", "ksc64": "15.4.0.8873"}),
    "residual": ("residual", {"kesl": "12.1.0.1508", "klnagent": "15.4.0.8873"}),
}


def cached_facts(host):
    """A host's facts in the jsonfile cache (ansible-core 2.19+ prefixes the file name and
    wraps the facts as a JSON string under __payload__)."""
    files = [FACTS / host] if (FACTS / host).exists() else sorted(FACTS.glob("*_" + host))
    assert files, "no cached facts for %s" % host
    data = json.loads(files[-1].read_text(encoding="utf-8"))
    return json.loads(data["__payload__"]) if "__payload__" in data else data


@pytest.fixture(scope="module")
def plan():
    with open(REPORTS / "run" / "divest-plan.json", encoding="utf-8") as handle:
        return json.load(handle)


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def test_the_digest_is_the_documented_one(plan):
    # docs/plan.md, "Digest": the hosts' entries through a hash tree, the rest as its canonical JSON
    level = [hashlib.sha256(b"\x00" + canonical(n) + b":" + canonical(plan["hosts"][n])).digest()
             for n in sorted(plan["hosts"])]
    while len(level) > 1:
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
                 for i in range(0, len(level) - 1, 2)] + level[len(level) - len(level) % 2:]
    root = level[0] if level else hashlib.sha256(b"").digest()
    body = hashlib.sha256(canonical({k: v for k, v in plan.items() if k not in ("digest", "generated_at", "hosts")}))
    top = canonical({"body": body.hexdigest(), "hosts": len(plan["hosts"]), "root": root.hex()})
    assert plan["digest"] == "sha256:" + hashlib.sha256(top).hexdigest()


def test_every_host_is_in_exactly_one_place(plan):
    in_waves = [h for wave in plan["waves"] for h in wave["hosts"]]
    assert sorted(in_waves) == sorted(EXPECTED)
    assert plan["clean"] == ["clean"]
    assert plan["not_selected"] == [] and plan["not_scanned"] == []


def test_waves_canary_first_management_last(plan):
    waves = plan["waves"]
    assert waves[0]["kind"] == "canary" and len(waves[0]["hosts"]) == 1
    assert waves[-1] == {"name": "management", "kind": "management", "hosts": ["ksc"]}
    assert all(len(w["hosts"]) <= 2 for w in waves[1:-1])           # divest_waves size: 2
    assert "legacy" not in waves[0]["hosts"]                         # a blocked host is no canary


def test_expectations_match_the_containers(plan):
    for name, (status, products) in EXPECTED.items():
        host = plan["hosts"][name]
        assert host["status"] == status, name
        assert {e["product"]: e["version"] for e in host["expect"]} == products, name


def test_actions_follow_the_recipe_order(plan):
    kesl12 = plan["hosts"]["kesl12"]["actions"]
    assert [(a["action"], a.get("product")) for a in kesl12] == [
        ("install_replacement", None), ("remove", "kesl"), ("remove", "klnagent"), ("cleanup", "leftovers"),
        ("block_reinstall", None), ("verify", None)]
    # the vendor-wide cleanup (no leftovers finding here) and the whole catalog's names pinned
    cleanup = kesl12[3]
    assert cleanup["state"] is None and cleanup["vendor_dirs"] == [
        "/etc/opt/kaspersky", "/opt/kaspersky", "/var/log/kaspersky", "/var/opt/kaspersky"]
    assert {"kesl", "kess", "klnagent64", "ksc64", "kwts"} <= set(kesl12[4]["packages"])
    assert plan["hosts"]["kesl12"]["replacement"] == "clamav"
    assert kesl12[1]["removal"]["packages"] == ["kesl-gui", "kesl"]    # the GUI depends on kesl
    ksc = [a.get("product") for a in plan["hosts"]["ksc"]["actions"] if a["action"] == "remove"]
    assert ksc == ["klnagent", "ksc-web-console", "ksc64"]             # the server goes last
    legacy = {a.get("product"): a for a in plan["hosts"]["legacy"]["actions"]}
    assert legacy["kes4lwks"]["removal"]["config_edits"][0]["path"] == "/etc/samba/smb.conf"


def test_exception_blocks_the_host(plan):
    blockers = plan["hosts"]["legacy"]["blockers"]
    assert [b["kind"] for b in blockers] == ["exception"]
    assert "file server migration" in blockers[0]["message"]
    assert all(plan["hosts"][h]["blockers"] == [] for h in EXPECTED if h != "legacy")


def test_directive_dates_come_from_the_start_date(plan):
    d = plan["directive"]
    assert (d["start"], d["identify_by"], d["plan_by"], d["remove_from"]) == (
        "2026-10-01", "2026-10-31", "2026-11-30", "2026-12-30")


def test_each_planned_host_has_its_part_in_the_fact_cache(plan):
    for name in EXPECTED:
        facts = cached_facts(name)
        part = facts.get("divest_plan") or facts.get("ansible_divest_plan")
        assert part["digest"] == plan["digest"], name
        assert part["wave"] == plan["hosts"][name]["wave"]
        # the whole entry and its proof: execute checks it against the approved digest
        assert {k: v for k, v in part.items() if k not in ("digest", "proof")} == plan["hosts"][name]
        assert part["proof"]["hosts"] == len(plan["hosts"])
        # the findings the plan was made from stay in the cache next to it
        assert facts["divest"]["scanned_at"] == plan["hosts"][name]["scanned_at"]
    clean = cached_facts("clean")
    assert "divest_plan" not in clean and clean["divest"]["status"] == "clean"


def test_check_mode_wrote_nothing():
    assert not (REPORTS / "check").exists() or not any((REPORTS / "check").iterdir())


def test_human_forms_are_written(plan):
    page = (REPORTS / "run" / "divest-plan.html").read_text(encoding="utf-8")
    assert plan["digest"] in page and "Content-Security-Policy" in page
    for name in EXPECTED:
        assert name in page
    markdown = (REPORTS / "run" / "divest-plan.md").read_text(encoding="utf-8")
    assert plan["digest"] in markdown
