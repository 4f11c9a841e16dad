"""Build the fake vendor packages of the test harness and publish them as local repositories.

Sources: tests/harness/packages/ (packages.yml, templates/, fake-daemon.c).  Outputs, all under
.cache (never committed):

    .cache/repos/kaspersky/         flat apt repository (Packages, Packages.gz, Release)
    .cache/repos/kaspersky-faults/  the fault variants + every normal package without one
    .cache/repos/kaspersky-rpm/     the .rpm files + repodata (createrepo_c)
    .cache/repos/kaspersky-rpm-faults/  the rpm fault variants + every normal rpm without one
    .cache/packages/index.json      what was built: name, version, arch, repo, file, services
    .cache/packages/stamp           hash of the sources; nothing is rebuilt while it matches

Every package is a TEST DOUBLE with no vendor code (see tests/harness/README.md).

    build_packages.py [--quiet] [--force] [--jobs N]

Stdlib + PyYAML only; needs gcc (static glibc), dpkg-deb, apt-ftparchive, rpmbuild, createrepo_c.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SRC = HERE / "packages"
ROOT = HERE.parent.parent
CACHE = Path(os.environ.get("DIVEST_CACHE") or ROOT / ".cache")
REPOS = CACHE / "repos"
WORK = CACHE / "packages"
REPO_MAIN, REPO_FAULTS, REPO_RPM = "kaspersky", "kaspersky-faults", "kaspersky-rpm"
REPO_RPM_FAULTS = "kaspersky-rpm-faults"
FORMATS = ("deb", "rpm")

MAGIC = b"DIVESTH1"
RPM_ARCH = {"amd64": "x86_64", "i386": "i386"}
# deb path -> rpm path (RHEL layout)
RPM_PATH_MAP = (("/lib/systemd/system/", "/usr/lib/systemd/system/"), ("/etc/init.d/", "/etc/rc.d/init.d/"))
# directories a package may own (and remove when empty); system directories are never owned
OWNED_ROOTS = ("/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky")
HEREDOC = "DIVEST_EOF"


class SpecError(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# spec handling


def merge(base, over):
    """Deep merge: maps merge, lists and scalars are replaced, "key+" appends to a list."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        if key.endswith("+"):
            real = key[:-1]
            out[real] = list(out.get(real) or []) + copy.deepcopy(list(value))
        elif key in out and isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_extends(body: dict, templates: dict, seen=()) -> dict:
    parent = body.get("extends")
    if not parent:
        return copy.deepcopy(body)
    if parent in seen:
        raise SpecError(f"extends loop through {parent}")
    if parent not in templates:
        raise SpecError(f"unknown template {parent}")
    base = resolve_extends(templates[parent], templates, seen + (parent,))
    over = {k: v for k, v in body.items() if k != "extends"}
    return merge(base, over)


VAR = re.compile(r"@([a-z_]+)@")


def substitute(obj, variables: dict):
    if isinstance(obj, str):
        for _pass in range(5):
            new = VAR.sub(lambda m: str(variables.get(m.group(1), m.group(0))), obj)
            if new == obj:
                break
            obj = new
        return obj
    if isinstance(obj, list):
        return [substitute(x, variables) for x in obj]
    if isinstance(obj, dict):
        return {k: substitute(v, variables) for k, v in obj.items()}
    return obj


def split_version(version: str) -> tuple[str, str]:
    if "-" in version:
        upstream, release = version.rsplit("-", 1)
        return upstream, release
    return version, "1"


def expand(spec: dict) -> tuple[list[dict], list[dict]]:
    """Return (packages, faults) fully resolved."""
    defaults = spec.get("defaults", {})
    templates = spec.get("templates", {})
    packages = []
    for raw in spec["packages"]:
        body = resolve_extends(raw, templates)
        pkg = merge(defaults, body)
        for key in ("name", "version", "arch", "product", "summary"):
            if not pkg.get(key):
                raise SpecError(f"{raw.get('name')} {raw.get('version')}: missing {key}")
        if pkg["arch"] not in RPM_ARCH:
            raise SpecError(f"{pkg['name']}: unsupported arch {pkg['arch']}")
        upstream, release = split_version(pkg["version"])
        variables = {
            "name": pkg["name"],
            "version": pkg["version"],
            "upstream": upstream,
            "release": release,
            "dotted": f"{upstream}.{release}" if "-" in pkg["version"] else pkg["version"],
            "arch": pkg["arch"],
            "product": pkg["product"],
            "optdir": f"/opt/kaspersky/{pkg['product']}",
        }
        variables.update({k: str(v) for k, v in (pkg.get("vars") or {}).items()})
        pkg = substitute(pkg, variables)
        pkg["vars"] = variables
        pkg.setdefault("purge", [f"/var/opt/kaspersky/{pkg['product']}", f"/var/log/kaspersky/{pkg['product']}"])
        rpm = pkg.get("rpm") or {}
        pkg["rpm"] = {
            "skip": bool(rpm.get("skip")),
            "version": str(rpm.get("version", upstream)),
            "release": str(rpm.get("release", release)),
            "arch": rpm.get("arch", RPM_ARCH[pkg["arch"]]),
        }
        pkg["key"] = f"{pkg['name']}={pkg['version']}"
        packages.append(pkg)
    keys = [p["key"] for p in packages]
    if len(keys) != len(set(keys)):
        raise SpecError("duplicate name=version in packages")

    faults = []
    by_key = {p["key"]: p for p in packages}
    for raw in spec.get("faults", []):
        if raw["of"] not in by_key:
            raise SpecError(f"fault of unknown package {raw['of']}")
        pkg = copy.deepcopy(by_key[raw["of"]])
        pkg["fault"] = raw["fault"]
        pkg["fault_note"] = raw["note"]
        # which package formats get the variant: its hooks must then work in both script
        # conventions (deb prerm "$1" = remove, rpm %preun "$1" = 0)
        pkg["fault_formats"] = list(raw.get("formats") or ["deb"])
        if not set(pkg["fault_formats"]) <= set(FORMATS):
            raise SpecError(f"fault {raw['fault']}: unknown formats {pkg['fault_formats']}")
        for hook in ("prerm_head", "postinst_tail", "postinst_extra"):
            if raw.get(hook):
                pkg[hook] = (pkg.get(hook) or "") + raw[hook]
        faults.append(pkg)
    return packages, faults


# ----------------------------------------------------------------------------------------------
# payload


def trailer(config: dict) -> bytes:
    """Behaviour of one fake binary copy (see fake-daemon.c)."""

    def esc(value) -> str:
        return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")

    lines = [("mode", config["mode"])]
    for port in config.get("listen", []):
        lines.append(("listen", port))
    if config.get("log"):
        lines.append(("log", config["log"]))
    for section in ("default", "not_running"):
        for field in ("out", "err", "rc"):
            value = (config.get(section) or {}).get(field)
            if value is not None:
                lines.append((f"{section}.{field}", value))
    for resp in config.get("responses") or []:
        lines.append(("resp.args", resp.get("args", "")))
        for field in ("out", "err", "rc", "running"):
            if resp.get(field) is not None:
                lines.append((f"resp.{field}", resp[field]))
    payload = "".join(f"{esc(k)}\t{esc(v)}\n" for k, v in lines).encode()
    return payload + struct.pack("<I", len(payload)) + MAGIC


def write_file(path: Path, data: bytes | str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    path.chmod(mode)


def render(template: str, values: dict) -> str:
    text = (SRC / "templates" / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


def service_files(pkg: dict) -> list[dict]:
    out = []
    for svc in pkg.get("services") or []:
        if svc["kind"] == "systemd":
            user = ""
            if svc.get("user"):
                user = f"User={svc['user']}\n" + (f"Group={svc['group']}\n" if svc.get("group") else "")
            text = render("systemd.service.in", {"description": svc["description"], "exec": svc["exec"], "user": user})
            out.append({"path": f"/lib/systemd/system/{svc['name']}.service", "text": text})
        elif svc["kind"] == "sysv":
            text = render("sysv-init.in", {"service": svc["name"], "description": svc["description"], "exec": svc["exec"]})
            # Debian ships init scripts as conffiles: they survive a plain remove.
            out.append({"path": f"/etc/init.d/{svc['name']}", "conffile": text, "mode": "0755"})
        else:
            raise SpecError(f"{pkg['key']}: unknown service kind {svc['kind']}")
    return out


def stage(pkg: dict, root: Path, daemon_bin: bytes) -> list[str]:
    """Write the payload of pkg under root; return the conffile paths."""
    conffiles = []
    for entry in list(pkg.get("files") or []) + service_files(pkg):
        path = entry["path"]
        target = root / path.lstrip("/")
        mode = int(str(entry.get("mode", "0")), 8) or None
        if "daemon" in entry or "tool" in entry:
            cfg = dict(entry.get("tool") or {})
            if "daemon" in entry:
                cfg.update(entry["daemon"] or {})
                cfg["mode"] = "daemon"
                cfg["responses"] = entry.get("responses") or []
            else:
                cfg["mode"] = "tool"
            write_file(target, daemon_bin + trailer(cfg), mode or 0o755)
        elif "symlink" in entry:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                raise SpecError(f"{pkg['key']}: {path} staged twice")
            target.symlink_to(entry["symlink"])
        elif "sqlite" in entry:
            target.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(target)
            for statement in entry["sqlite"]:
                con.execute(statement)
            con.commit()
            con.close()
            target.chmod(mode or 0o644)
        elif "conffile" in entry:
            write_file(target, entry["conffile"], mode or 0o644)
            conffiles.append(path)
        elif "text" in entry:
            write_file(target, entry["text"], mode or 0o644)
        elif entry.get("dir"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            raise SpecError(f"{pkg['key']}: {path}: no content")
    # explicit directory modes last (the 12.2 layout tightens them like the vendor does)
    for entry in pkg.get("files") or []:
        if entry.get("dir") and entry.get("mode"):
            (root / entry["path"].lstrip("/")).chmod(int(str(entry["mode"]), 8))
    return conffiles


# ----------------------------------------------------------------------------------------------
# maintainer scripts


def sh_quote(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.rstrip("\n").split("\n"))


def block_accounts(pkg: dict) -> str:
    out = []
    for acc in pkg.get("accounts") or []:
        user, group, home = sh_quote(acc["user"]), sh_quote(acc["group"]), sh_quote(acc["home"])
        out.append(f"getent group {group} >/dev/null || groupadd --system {group}")
        out.append(
            f"getent passwd {user} >/dev/null || useradd --system --gid {group} "
            f"--home-dir {home} --no-create-home --shell /usr/sbin/nologin {user}"
        )
    return "\n".join(out)


def block_state(pkg: dict) -> str:
    if not (pkg.get("services") or pkg.get("state")):
        return ""
    product = pkg["product"]
    datadir = pkg.get("datadir") or f"/var/opt/kaspersky/{product}"
    out = [f"mkdir -p {sh_quote(datadir)} /var/log/kaspersky/{product}"]
    for st in pkg.get("state") or []:
        path = sh_quote(st["path"])
        parent = sh_quote(os.path.dirname(st["path"]))
        mode = st.get("mode")
        if st.get("dir"):
            out.append(f"[ -d {path} ] || mkdir -p {path}")
        elif "text" in st:
            text = st["text"] if st["text"].endswith("\n") else st["text"] + "\n"
            if HEREDOC in text:
                raise SpecError(f"{pkg['key']}: state text contains {HEREDOC}")
            out.append(f"if [ ! -e {path} ]; then\n    mkdir -p {parent}\n    cat >{path} <<'{HEREDOC}'\n{text}{HEREDOC}\nfi")
        elif "copy" in st:
            out.append(f"if [ ! -e {path} ]; then\n    mkdir -p {parent}\n    cp {sh_quote(st['copy'])} {path}\nfi")
        elif "symlink" in st:
            out.append(f"[ -L {path} ] || {{ mkdir -p {parent}; ln -s {sh_quote(st['symlink'])} {path}; }}")
        else:
            raise SpecError(f"{pkg['key']}: state {st['path']}: no content")
        if mode:
            out.append(f"chmod {sh_quote(str(mode))} {path}")
        if st.get("owner"):
            out.append(f"chown -R {sh_quote(st['owner'])} {path}")
    return "\n".join(out)


def block_start(pkg: dict, flavour: str) -> str:
    services = pkg.get("services") or []
    if not services:
        return ""
    out = []
    if flavour == "deb":
        out.append("if [ -d /run/systemd/system ]; then\n    systemctl daemon-reload\nfi")
        for svc in services:
            name = svc["name"]
            if svc["kind"] == "systemd":
                out.append(
                    f"if [ -d /run/systemd/system ]; then\n"
                    f"    systemctl --quiet enable {name}.service\n"
                    f"    systemctl start {name}.service\n"
                    f"elif command -v systemctl >/dev/null 2>&1; then\n"
                    f"    # no running systemd (chroot, image build): enable only\n"
                    f"    systemctl --quiet enable {name}.service >/dev/null 2>&1 || true\n"
                    f"fi"
                )
            else:
                out.append(
                    f"if [ -x /etc/init.d/{name} ]; then\n"
                    f"    update-rc.d {name} defaults >/dev/null\n"
                    f"    if [ -d /run/systemd/system ]; then\n"
                    f"        systemctl daemon-reload\n"
                    f"    fi\n"
                    f"    invoke-rc.d {name} start || exit 1\n"
                    f"fi"
                )
    else:
        for svc in services:
            name = svc["name"]
            if svc["kind"] == "sysv":
                out.append(f"command -v chkconfig >/dev/null 2>&1 && chkconfig --add {name} || :")
            out.append(
                "if [ -d /run/systemd/system ]; then\n"
                "    systemctl daemon-reload >/dev/null 2>&1 || :\n"
                + (f"    systemctl --quiet enable {name}.service || :\n" if svc["kind"] == "systemd" else "")
                + f"    systemctl start {name}.service\n"
                + (
                    f"elif command -v systemctl >/dev/null 2>&1; then\n"
                    f"    systemctl --quiet enable {name}.service >/dev/null 2>&1 || :\n"
                    if svc["kind"] == "systemd"
                    else ""
                )
                + "fi"
            )
    return indent("\n".join(out), "    " if flavour == "rpm" else "")


def block_stop(pkg: dict, flavour: str) -> str:
    out = []
    for svc in reversed(pkg.get("services") or []):
        name = svc["name"]
        if flavour == "deb" and svc["kind"] == "sysv":
            out.append(f"if [ -x /etc/init.d/{name} ]; then\n    invoke-rc.d {name} stop || exit 1\nfi")
        elif flavour == "deb":
            out.append(
                f"if [ -d /run/systemd/system ]; then\n    systemctl stop {name}.service || true\nfi\n"
                f'if [ "$1" = remove ] && command -v systemctl >/dev/null 2>&1; then\n'
                f"    systemctl --quiet disable {name}.service >/dev/null 2>&1 || true\nfi"
            )
        else:
            out.append(f"if [ -d /run/systemd/system ]; then\n    systemctl stop {name}.service || :\nfi")
            if svc["kind"] == "systemd":
                out.append(f"command -v systemctl >/dev/null 2>&1 && systemctl --quiet disable {name}.service || :")
            else:
                out.append(f"command -v chkconfig >/dev/null 2>&1 && chkconfig --del {name} || :")
    return indent("\n".join(out), "    " if flavour == "rpm" else "")


def block_purge(pkg: dict) -> str:
    out = []
    paths = [sh_quote(p) for p in pkg.get("purge") or []]
    if paths:
        out.append("rm -rf " + " ".join(paths))
    for svc in pkg.get("services") or []:
        if svc["kind"] == "sysv":
            out.append(f"update-rc.d {svc['name']} remove >/dev/null || true")
    out.append("for d in " + " ".join(OWNED_ROOTS) + "; do\n    rmdir \"$d\" 2>/dev/null || true\ndone")
    return indent("\n".join(out), "        ")


def needs_scripts(pkg: dict) -> bool:
    keys = ("services", "state", "accounts", "postinst_extra", "postinst_tail", "prerm_head", "purge")
    return any(pkg.get(k) for k in keys)


def scripts(pkg: dict, flavour: str) -> dict[str, str]:
    if not needs_scripts(pkg):
        return {}
    values = {
        "name": pkg["name"],
        "version": pkg["version"],
        "ACCOUNTS": block_accounts(pkg),
        "STATE": block_state(pkg),
        "POSTINST_EXTRA": (pkg.get("postinst_extra") or "").rstrip("\n"),
        "POSTINST_TAIL": (pkg.get("postinst_tail") or "").rstrip("\n"),
        "SERVICES_START": block_start(pkg, flavour),
        "SERVICES_STOP": block_stop(pkg, flavour),
        "PRERM_HEAD": (pkg.get("prerm_head") or "").rstrip("\n"),
        "PURGE": block_purge(pkg),
    }
    if flavour == "rpm":
        values["PRERM_HEAD"] = indent(values["PRERM_HEAD"]) if values["PRERM_HEAD"] else ""
        return {
            "post": render("rpm-post.in", values),
            "preun": render("rpm-preun.in", values),
            "postun": render("rpm-postun.in", values),
        }
    return {
        "postinst": render("deb-postinst.in", values),
        "prerm": render("deb-prerm.in", values),
        "postrm": render("deb-postrm.in", values),
    }


# ----------------------------------------------------------------------------------------------
# deb / rpm


def long_description(pkg: dict) -> list[str]:
    lines = [
        "TEST DOUBLE built by the fleetsec.divest test harness. It contains no vendor code.",
        f"It mimics the Linux footprint of {pkg['summary']} {pkg['vars']['dotted']}",
        "(package name, version, paths, services, processes, maintainer-script behaviour)",
        "so that detection and removal code can be tested. Never install it on a real host.",
    ]
    if pkg.get("fault"):
        lines.append(f"FAULT VARIANT '{pkg['fault']}': {pkg['fault_note']}.")
    return lines


def installed_size(root: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath).name == "DEBIAN" and Path(dirpath).parent == root:
            continue
        for name in filenames + dirnames:
            p = Path(dirpath) / name
            total += p.lstat().st_size if not p.is_dir() or p.is_symlink() else 1024
    return max(1, (total + 1023) // 1024)


def payload_paths(root: Path) -> list[str]:
    """Files and symlinks of a staged payload (absolute paths, DEBIAN/ excluded)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            rel = "/" + str((Path(dirpath) / name).relative_to(root))
            if not rel.startswith("/DEBIAN/"):
                out.append(rel)
    return sorted(out)


def build_deb(pkg: dict, daemon_bin: bytes, workdir: Path, outdir: Path) -> dict:
    root = workdir / "deb"
    conffiles = stage(pkg, root, daemon_bin)
    debian = root / "DEBIAN"
    debian.mkdir()
    fields = [
        ("Package", pkg["name"]),
        ("Version", pkg["version"]),
        ("Architecture", pkg["arch"]),
        ("Maintainer", pkg["maintainer"]),
        ("Installed-Size", str(installed_size(root))),
    ]
    if pkg.get("depends"):
        fields.append(("Depends", ", ".join(pkg["depends"])))
    if pkg.get("conflicts"):
        fields.append(("Conflicts", ", ".join(pkg["conflicts"])))
    fields += [("Section", pkg["section"]), ("Priority", pkg["priority"]), ("Homepage", pkg["homepage"])]
    desc = [f"{pkg['summary']} (TEST DOUBLE)"] + [" " + line for line in long_description(pkg)]
    control = "".join(f"{k}: {v}\n" for k, v in fields) + "Description: " + "\n".join(desc) + "\n"
    write_file(debian / "control", control, 0o644)
    if conffiles:
        write_file(debian / "conffiles", "".join(c + "\n" for c in conffiles), 0o644)
    sums = []
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            p = Path(dirpath) / name
            rel = "/" + str(p.relative_to(root))
            if rel.startswith("/DEBIAN/") or p.is_symlink() or rel in conffiles:
                continue
            sums.append(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {rel.lstrip('/')}\n")
    write_file(debian / "md5sums", "".join(sorted(sums, key=lambda s: s[34:])), 0o644)
    for script, text in scripts(pkg, "deb").items():
        write_file(debian / script, text, 0o755)
    filename = pkg.get("filename") or f"{pkg['name']}_{pkg['version']}_{pkg['arch']}.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "-b", str(root), str(outdir / filename)])
    return {"file": filename, "payload": [p for p in payload_paths(root) if p not in conffiles], "conffiles": conffiles}


def rpm_escape(text: str) -> str:
    return text.replace("%", "%%")


def rpm_relation(rel: str) -> str:
    m = re.fullmatch(r"\s*([^\s(]+)\s*(?:\(\s*([<>=]+)\s*([^)\s]+)\s*\))?\s*", rel)
    if not m:
        raise SpecError(f"cannot translate relation {rel!r}")
    name, op, ver = m.groups()
    op = {"<<": "<", ">>": ">"}.get(op, op)
    return f"{name} {op} {ver}" if op else name


def build_rpm(pkg: dict, daemon_bin: bytes, workdir: Path, outdir: Path) -> dict | None:
    if pkg["rpm"]["skip"]:
        return None
    root = workdir / "rpmroot"
    pkg_rpm = copy.deepcopy(pkg)
    conffiles = stage(pkg_rpm, root, daemon_bin)
    # RHEL layout for units and init scripts
    for old, new in RPM_PATH_MAP:
        src = root / old.strip("/")
        if src.is_dir():
            dst = root / new.strip("/")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), str(dst))
            conffiles = [new + c[len(old):] if c.startswith(old) else c for c in conffiles]
            # drop now-empty parents of the deb path (e.g. /lib)
            parent = src.parent
            while parent != root and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = "/" + str(Path(dirpath).relative_to(root)) if Path(dirpath) != root else "/"
        for name in sorted(dirnames):
            p = Path(dirpath) / name
            rel = (rel_dir.rstrip("/") + "/" + name)
            if p.is_symlink():
                files.append(rel)
            elif any(rel == r or rel.startswith(r + "/") for r in OWNED_ROOTS):
                files.append(f"%dir {rel}")
        for name in sorted(filenames):
            rel = rel_dir.rstrip("/") + "/" + name
            files.append(f"%config(noreplace) {rel}" if rel in conffiles else rel)
    relations = []
    for dep in pkg.get("depends") or []:
        relations.append(f"Requires:       {rpm_relation(dep)}")
    for con in pkg.get("conflicts") or []:
        relations.append(f"Conflicts:      {rpm_relation(con)}")
    scriptlets = "".join(f"%{name}\n{rpm_escape(text)}\n" for name, text in scripts(pkg, "rpm").items())
    spec = render(
        "rpm.spec.in",
        {
            "name": pkg["name"],
            "rpm_version": pkg["rpm"]["version"],
            "rpm_release": pkg["rpm"]["release"],
            "summary": rpm_escape(f"{pkg['summary']} (TEST DOUBLE)"),
            "vendor": pkg["vendor"],
            "maintainer": pkg["maintainer"],
            "homepage": pkg["homepage"],
            "RELATIONS": "\n".join(relations),
            "description": rpm_escape("\n".join(long_description(pkg))),
            "stage": str(root),
            "SCRIPTLETS": scriptlets,
            "FILES": "\n".join(files),
        },
    )
    spec_path = workdir / f"{pkg['name']}.spec"
    spec_path.write_text(spec)
    top = workdir / "rpmbuild"
    run(
        [
            "rpmbuild", "--quiet", "-bb",
            "--target", pkg["rpm"]["arch"],  # i386 is no build arch of x86_64 hosts: --target, no BuildArch
            "--define", f"_topdir {top}",
            "--define", "_binary_payload w2.xzdio",
            str(spec_path),
        ]
    )
    arch = pkg["rpm"]["arch"]
    filename = f"{pkg['name']}-{pkg['rpm']['version']}-{pkg['rpm']['release']}.{arch}.rpm"
    built = top / "RPMS" / arch / filename
    if not built.exists():
        raise SpecError(f"rpmbuild did not produce {built}")
    shutil.move(str(built), str(outdir / filename))
    return {"file": filename, "payload": [p for p in payload_paths(root) if p not in conffiles], "conffiles": conffiles}


# ----------------------------------------------------------------------------------------------
# driver


def run(cmd: list[str], cwd: Path | None = None, stdout=None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        out = proc.stdout if isinstance(proc.stdout, str) else ""
        raise SpecError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}{proc.stderr}")


def source_hash() -> str:
    h = hashlib.sha256()
    files = [Path(__file__).resolve()] + sorted(p for p in SRC.rglob("*") if p.is_file())
    for p in files:
        h.update(str(p.relative_to(HERE)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def outputs_present() -> bool:
    return (
        (REPOS / REPO_MAIN / "Packages").is_file()
        and (REPOS / REPO_FAULTS / "Packages").is_file()
        and (REPOS / REPO_RPM / "repodata" / "repomd.xml").is_file()
        and (REPOS / REPO_RPM_FAULTS / "repodata" / "repomd.xml").is_file()
        and (WORK / "index.json").is_file()
    )


def compile_daemon(dest: Path) -> bytes:
    run(["gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror", "-o", str(dest), str(SRC / "fake-daemon.c")])
    return dest.read_bytes()


def apt_index(repo: Path) -> None:
    with open(repo / "Packages", "w") as fh:
        run(["apt-ftparchive", "packages", "."], cwd=repo, stdout=fh)
    run(["gzip", "-9kf", "Packages"], cwd=repo)
    with open(repo / "Release.tmp", "w") as fh:
        run(
            ["apt-ftparchive", "-o", "APT::FTPArchive::Release::Origin=fleetsec.divest harness (TEST DOUBLES)",
             "-o", "APT::FTPArchive::Release::Label=" + repo.name, "release", "."],
            cwd=repo, stdout=fh,
        )
    (repo / "Release.tmp").rename(repo / "Release")


def publish(staging: Path, name: str) -> None:
    final = REPOS / name
    old = REPOS / f".{name}.old"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    if old.exists():
        shutil.rmtree(old)


def build_all(jobs: int) -> dict:
    spec = yaml.safe_load((SRC / "packages.yml").read_text())
    packages, faults = expand(spec)
    WORK.mkdir(parents=True, exist_ok=True)
    REPOS.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="build.", dir=WORK))
    try:
        daemon_bin = compile_daemon(tmp / "fake-daemon")
        out = {n: tmp / "out" / n for n in (REPO_MAIN, REPO_FAULTS, REPO_RPM, REPO_RPM_FAULTS)}
        for d in out.values():
            d.mkdir(parents=True)

        def one(args):
            index, pkg, kind = args
            work = tmp / f"w{index:03d}"
            work.mkdir()
            if kind == "deb":
                return kind, pkg, build_deb(pkg, daemon_bin, work, out[REPO_FAULTS if pkg.get("fault") else REPO_MAIN])
            return kind, pkg, build_rpm(pkg, daemon_bin, work, out[REPO_RPM_FAULTS if pkg.get("fault") else REPO_RPM])

        tasks = [(i, p, "deb") for i, p in enumerate(packages)]
        tasks += [(len(tasks) + i, p, "deb") for i, p in enumerate(faults)]
        tasks += [(len(tasks) + i, p, "rpm") for i, p in enumerate(packages)]
        tasks += [(len(tasks) + i, p, "rpm") for i, p in enumerate(f for f in faults if "rpm" in f["fault_formats"])]
        index = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for kind, pkg, built in pool.map(one, tasks):
                if built is None:
                    continue
                index.append(
                    {
                        "name": pkg["name"],
                        "version": pkg["version"] if kind == "deb" else f"{pkg['rpm']['version']}-{pkg['rpm']['release']}",
                        "dotted": pkg["vars"]["dotted"],
                        "arch": pkg["arch"] if kind == "deb" else pkg["rpm"]["arch"],
                        "format": kind,
                        "repo": {("rpm", True): REPO_RPM_FAULTS, ("rpm", False): REPO_RPM, ("deb", True): REPO_FAULTS,
                                 ("deb", False): REPO_MAIN}[(kind, bool(pkg.get("fault")))],
                        "file": built["file"],
                        "payload": built["payload"],
                        "conffiles": built["conffiles"],
                        "state": [st["path"] for st in pkg.get("state") or []],
                        "datadir": (pkg.get("datadir") or f"/var/opt/kaspersky/{pkg['product']}")
                        if needs_scripts(pkg) and (pkg.get("services") or pkg.get("state")) else None,
                        "purge": pkg.get("purge") or [],
                        "accounts": pkg.get("accounts") or [],
                        "product": pkg["product"],
                        "summary": pkg["summary"],
                        "depends": pkg.get("depends") or [],
                        "services": [{"name": s["name"], "kind": s["kind"], "exec": s["exec"]} for s in pkg.get("services") or []],
                        "fault": pkg.get("fault"),
                    }
                )
        # The faults repository also carries every normal package whose name has no fault
        # variant, unless it pins a version of a faulty name the repository does not have
        # (kesl-gui 12.2 needs kesl 12.2, which is only in the normal repository).
        # (the same for the rpm faults repository, with the faults that have an rpm variant)
        for kind, main, faulty in (("deb", REPO_MAIN, REPO_FAULTS), ("rpm", REPO_RPM, REPO_RPM_FAULTS)):
            mine = [p for p in faults if kind in p["fault_formats"]]
            fault_names = {p["name"] for p in mine}
            fault_keys = {p["key"] for p in mine}

            def installable(entry, fault_names=fault_names, fault_keys=fault_keys) -> bool:
                for dep in entry["depends"]:
                    m = re.fullmatch(r"(\S+) \(= (\S+)\)", dep)
                    if m and m.group(1) in fault_names and f"{m.group(1)}={m.group(2)}" not in fault_keys:
                        return False
                return True

            for entry in list(index):
                if (
                    entry["format"] == kind
                    and entry["repo"] == main
                    and entry["name"] not in fault_names
                    and installable(entry)
                ):
                    src = out[main] / entry["file"]
                    dst = out[faulty] / entry["file"]
                    try:
                        os.link(src, dst)
                    except OSError:
                        shutil.copy2(src, dst)
                    index.append(dict(entry, repo=faulty))
        apt_index(out[REPO_MAIN])
        apt_index(out[REPO_FAULTS])
        run(["createrepo_c", "--quiet", "--no-database", str(out[REPO_RPM])])
        run(["createrepo_c", "--quiet", "--no-database", str(out[REPO_RPM_FAULTS])])
        for name, d in out.items():
            publish(d, name)
        index.sort(key=lambda e: (e["repo"], e["name"], e["version"]))
        (WORK / "index.json").write_text(json.dumps({"packages": index}, indent=1) + "\n")
        return {
            "deb": sum(1 for e in index if e["format"] == "deb" and e["repo"] == REPO_MAIN),
            "faults": len(faults),
            "rpm": sum(1 for e in index if e["format"] == "rpm" and e["repo"] == REPO_RPM),
            "rpm_faults": sum(1 for e in index if e["format"] == "rpm" and e["fault"]),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--quiet", action="store_true", help="print one line")
    ap.add_argument("--force", action="store_true", help="rebuild even if the sources did not change")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()

    WORK.mkdir(parents=True, exist_ok=True)
    # one builder at a time (molecule create, pytest and demo.py may start together)
    lock = open(WORK / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    digest = source_hash()
    stamp = WORK / "stamp"
    if not args.force and outputs_present() and stamp.is_file() and stamp.read_text().strip() == digest:
        index = json.loads((WORK / "index.json").read_text())["packages"]
        debs = sum(1 for e in index if e["format"] == "deb" and e["repo"] == REPO_MAIN)
        rpms = sum(1 for e in index if e["format"] == "rpm" and e["repo"] == REPO_RPM)
        print(f"fake vendor packages up to date ({debs} deb, {rpms} rpm) in {REPOS}")
        return 0
    missing = [t for t in ("gcc", "dpkg-deb", "apt-ftparchive", "rpmbuild", "createrepo_c") if not shutil.which(t)]
    if missing:
        print(f"build_packages: missing tools: {', '.join(missing)} (run tests/harness/bootstrap.sh)", file=sys.stderr)
        return 1
    start = time.monotonic()
    try:
        counts = build_all(max(1, args.jobs))
    except SpecError as exc:
        print(f"build_packages: {exc}", file=sys.stderr)
        return 1
    stamp.write_text(digest + "\n")
    took = time.monotonic() - start
    line = (
        f"fake vendor packages built: {counts['deb']} deb + {counts['faults']} fault variants + "
        f"{counts['rpm']} rpm + {counts['rpm_faults']} rpm fault variants in {took:.1f} s -> {REPOS}"
    )
    if not args.quiet:
        for entry in json.loads((WORK / "index.json").read_text())["packages"]:
            print(f"  {entry['repo']:17} {entry['file']}")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
