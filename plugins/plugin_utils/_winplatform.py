# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Windows host is, decided from what its collector recorded (controller side, pure).

The collector (``win_inventory_info.ps1``) records Windows' own values in ``platform``:
``distribution`` (Win32_OperatingSystem.Caption, or the registry's ProductName when WMI does
not answer), ``version``, ``product_type`` (ProductType mapped to workstation / server /
domain_controller), ``edition_id`` (the registry's EditionID) and ``build``. Two of them
mislead when read alone, so the decisions live here, where table tests reach them:

* Windows 10/11 Enterprise multi-session reports ProductType 3, "the same value as Windows
  Server" (learn.microsoft.com/azure/virtual-desktop/windows-10-multisession-faq). Its EditionID
  is ``ServerRdsh`` (``EnterpriseMultiSession`` is accepted too). It is a client: it has
  Security Center.
* The registry's ProductName says "Windows 10" on Windows 11; the build number tells them
  apart (Windows 11 starts at build 22000).
"""

from __future__ import annotations

import re

#: EditionID values of Windows 10/11 Enterprise multi-session (compared without case).
MULTI_SESSION_EDITIONS = frozenset(("serverrdsh", "enterprisemultisession"))
#: First build of each release on the NT 10.0 kernel, newest first.
CLIENT_BUILDS = ((22000, "Windows 11"), (10240, "Windows 10"))
SERVER_BUILDS = ((26100, "Windows Server 2025"), (20348, "Windows Server 2022"),
                 (17763, "Windows Server 2019"), (14393, "Windows Server 2016"))
#: Releases before NT 10.0, by major.minor.
OLDER = {"6.3": ("Windows 8.1", "Windows Server 2012 R2"), "6.2": ("Windows 8", "Windows Server 2012"),
         "6.1": ("Windows 7", "Windows Server 2008 R2"), "6.0": ("Windows Vista", "Windows Server 2008")}
ROLES = ("workstation", "server", "domain_controller")


def build_of(platform):
    """The build number as an int: ``build``, else the third part of ``version``; or None."""
    candidates = [platform.get("build")]
    version = platform.get("version")
    if isinstance(version, str) and version.count(".") >= 2:
        candidates.append(version.split(".")[2])
    for text in candidates:
        if isinstance(text, int) and not isinstance(text, bool):
            return text
        if isinstance(text, str) and text.strip().isdigit():
            return int(text.strip())
    return None


def windows_platform(platform):
    """``{role, multi_session, release, security_center}`` for a raw Windows ``platform``.

    * ``role``: ``workstation`` (Enterprise multi-session included), ``server``,
      ``domain_controller``, or None when the collector could not tell;
    * ``multi_session``: True for Windows 10/11 Enterprise multi-session;
    * ``release``: ``Windows 11``, ``Windows Server 2022`` ... from the version and build, or
      None for a release not in the tables (a server build between the LTSC releases);
    * ``security_center``: whether ``root\\SecurityCenter2`` should exist (clients only).
    """
    platform = platform if isinstance(platform, dict) else {}
    edition = platform.get("edition_id")
    caption = platform.get("distribution")
    multi = (isinstance(edition, str) and edition.strip().casefold() in MULTI_SESSION_EDITIONS) or (
        isinstance(caption, str) and "multi-session" in caption.casefold())
    role = platform.get("product_type") if platform.get("product_type") in ROLES else None
    if multi:
        role = "workstation"
    build = build_of(platform)
    version = platform.get("version") if isinstance(platform.get("version"), str) else ""
    major_minor = ".".join(version.split(".")[:2])
    release = None
    if role is not None:
        server = role != "workstation"
        if major_minor == "10.0" and build is not None:
            for first, name in SERVER_BUILDS if server else CLIENT_BUILDS:
                if build >= first:
                    release = name
                    break
        elif major_minor in OLDER:
            release = OLDER[major_minor][1 if server else 0]
    return {"role": role, "multi_session": bool(multi), "release": release,
            "security_center": role == "workstation"}


def distribution_of(platform):
    """``distribution`` as a person should read it: "Windows 10" in a registry ProductName of a
    Windows 11 build becomes "Windows 11"; anything else is returned unchanged."""
    distribution = platform.get("distribution") if isinstance(platform, dict) else None
    if not isinstance(distribution, str):
        return distribution
    decided = windows_platform(platform)
    if decided["release"] == "Windows 11":
        return re.sub(r"\bWindows 10\b", "Windows 11", distribution)
    return distribution


def scan_notes(inventory):
    """Entries the matcher adds to ``scan.errors`` from the platform decision.

    The collector skips ``security_center`` wherever ``root\\SecurityCenter2`` does not exist,
    whatever the product type. On Windows Server that is expected; on a client (Enterprise
    multi-session included) Security Center is part of Windows, so its absence is reported.
    It is not a critical section: it never makes a host ``unknown``.
    """
    decided = windows_platform(inventory.get("platform"))
    notes = []
    if decided["security_center"]:
        for entry in inventory.get("skipped") or []:
            if isinstance(entry, dict) and entry.get("section") == "security_center":
                notes.append({"section": "security_center",
                              "message": "Security Center is expected on this Windows client but was not read: %s"
                                         % entry.get("reason")})
    return notes
