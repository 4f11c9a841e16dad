# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Windows host is, decided on the controller from the collector's recorded values.

win_inventory_info records ProductType, EditionID and the build number as Windows reports them
(docs/raw-inventory.md); plugins/plugin_utils/_winplatform.py decides: Enterprise multi-session
(ProductType 3, EditionID ServerRdsh) is a client with Security Center, a build of 22000 or more
is Windows 11 whatever the registry's ProductName says.
"""

from __future__ import annotations

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils._winplatform import (
    build_of,
    distribution_of,
    scan_notes,
    windows_platform,
)


def P(product_type, version, edition=None, build=None, distribution="x"):
    return {"system": "Windows", "distribution": distribution, "version": version,
            "product_type": product_type, "edition_id": edition, "build": build}


PLATFORMS = [
    # (recorded platform, role, multi_session, release, security_center)
    (P("workstation", "10.0.19045", "Enterprise", "19045"), "workstation", False, "Windows 10", True),
    (P("workstation", "10.0.22000", "Professional", "22000"), "workstation", False, "Windows 11", True),
    (P("workstation", "10.0.21999", "Professional", "21999"), "workstation", False, "Windows 10", True),
    (P("workstation", "10.0.26100", "Core", "26100"), "workstation", False, "Windows 11", True),
    # Enterprise multi-session: ProductType 3 like a server, but a client.
    (P("server", "10.0.19044", "ServerRdsh", "19044"), "workstation", True, "Windows 10", True),
    (P("server", "10.0.22631", "ServerRdsh", "22631"), "workstation", True, "Windows 11", True),
    (P("server", "10.0.22631", "EnterpriseMultiSession", "22631"), "workstation", True, "Windows 11", True),
    (P("server", "10.0.22631", "serverrdsh", "22631"), "workstation", True, "Windows 11", True),
    (P("server", "10.0.22631", None, "22631", "Microsoft Windows 11 Enterprise multi-session"),
     "workstation", True, "Windows 11", True),
    # Servers by build; the Windows 11 threshold does not apply to them.
    (P("server", "10.0.14393", "ServerStandard", "14393"), "server", False, "Windows Server 2016", False),
    (P("server", "10.0.17763", "ServerDatacenter", "17763"), "server", False, "Windows Server 2019", False),
    (P("server", "10.0.20348", "ServerStandard", "20348"), "server", False, "Windows Server 2022", False),
    (P("server", "10.0.26100", "ServerStandard", "26100"), "server", False, "Windows Server 2025", False),
    (P("domain_controller", "10.0.20348", "ServerStandard", "20348"), "domain_controller", False,
     "Windows Server 2022", False),
    (P("server", "6.3.9600", "ServerStandard", "9600"), "server", False, "Windows Server 2012 R2", False),
    (P("workstation", "6.1.7601", "Professional", "7601"), "workstation", False, "Windows 7", True),
    # The build from version when build is missing; nothing invented when nothing is known.
    (P("workstation", "10.0.22631"), "workstation", False, "Windows 11", True),
    (P("workstation", "10.0"), "workstation", False, None, True),
    (P(None, "10.0.22631"), None, False, None, False),
    (P("bogus", "10.0.22631"), None, False, None, False),
    ({}, None, False, None, False),
]


@pytest.mark.parametrize("platform, role, multi, release, security_center", PLATFORMS)
def test_windows_platform(platform, role, multi, release, security_center):
    assert windows_platform(platform) == {"role": role, "multi_session": multi, "release": release,
                                          "security_center": security_center}


@pytest.mark.parametrize("platform, build", [
    ({"build": "22631"}, 22631), ({"build": " 22000 "}, 22000), ({"build": 19045}, 19045),
    ({"build": None, "version": "10.0.19045"}, 19045), ({"build": "x", "version": "10.0.7601"}, 7601),
    ({"build": True, "version": "10.0"}, None), ({}, None),
])
def test_build_of(platform, build):
    assert build_of(platform) == build


@pytest.mark.parametrize("platform, distribution", [
    # The registry fallback: ProductName says Windows 10 on Windows 11.
    (P("workstation", "10.0.22631", "Professional", "22631", "Windows 10 Pro"), "Windows 11 Pro"),
    (P("workstation", "10.0.19045", "Professional", "19045", "Windows 10 Pro"), "Windows 10 Pro"),
    (P("workstation", "10.0.22631", "Core", "22631", "Microsoft Windows 11 Home"), "Microsoft Windows 11 Home"),
    (P("server", "10.0.26100", "ServerStandard", "26100", "Windows Server 2025 Standard"),
     "Windows Server 2025 Standard"),
    (P("workstation", "10.0.22631", None, "22631", None), None),
])
def test_distribution_of(platform, distribution):
    assert distribution_of(platform) == distribution


SKIPPED = [{"section": "security_center", "reason": "the namespace root\\SecurityCenter2 does not exist on this host"}]


@pytest.mark.parametrize("platform, noted", [
    (P("workstation", "10.0.19045", "Enterprise", "19045"), True),
    (P("server", "10.0.22631", "ServerRdsh", "22631"), True),
    (P("server", "10.0.20348", "ServerStandard", "20348"), False),
    (P("domain_controller", "10.0.17763", "ServerStandard", "17763"), False),
    (P(None, "10.0.17763"), False),
])
def test_scan_notes_flag_a_client_without_security_center(platform, noted):
    notes = scan_notes({"platform": platform, "skipped": SKIPPED})
    assert [n["section"] for n in notes] == (["security_center"] if noted else [])
    assert scan_notes({"platform": platform, "skipped": []}) == []
