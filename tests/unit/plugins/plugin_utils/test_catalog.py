"""Catalog loading and validation: a broken catalog stops the run with a useful message."""

import textwrap

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import (
    CatalogError,
    load_catalog,
    load_catalogs,
)
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import match

ACME = """
schema: 1
vendor: acme
name: ACME Antivirus
products:
  - id: acme-av
    name: ACME Antivirus for Linux
    platform: linux
    role: protection
    signatures:
      packages: [acme-av]
      services: [acmed]
    removal:
      method: package
      packages: [acme-av]
"""


# The vendor's directories are the plain paths of leftovers.linux.paths (a glob is a signature only).
ACME_DIRS = ACME.replace("name: ACME Antivirus\n", "name: ACME Antivirus\nleftovers:\n  linux:\n"
                         "    paths: [/opt/acme, /var/opt/acme, '/opt/acme-*']\n", 1)


def write(tmp_path, text, name="cat.yml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


def test_shipped_catalog_loads_and_names_every_reference_linux_product():
    catalog = load_catalog("kaspersky")
    linux = {p.id for p in catalog.for_platform("linux")}
    assert {"kesl", "klnagent", "kav4fs", "kes4lwks", "kav4ws", "klms", "kav4proxy", "kess",
            "kwts", "kics", "ksc64", "ksc-web-console"} <= linux
    packages = {n for p in catalog.for_platform("linux") for n in p.signatures.texts.get("packages", [])}
    assert {"kesl", "kesl-gui", "kesl-astra", "kesl-gui-astra", "klnagent", "klnagent64", "kav4fs",
            "kes4lwks", "kav4ws", "klms", "kav4proxy", "kess", "kess-gui", "kwts", "kics", "kics-gui",
            "ksc64", "ksc-web-console"} <= packages
    # Exact names only for packages: a loose prefix would flag other software.
    assert not any(n.startswith("re:") for n in packages)


def test_a_user_catalog_adds_a_vendor_without_python(tmp_path):
    acme = write(tmp_path, ACME)
    catalogs = load_catalogs(["kaspersky", acme])
    inv = {"platform": {"system": "Linux"},
           "packages": [{"name": "acme-av", "version": "3.1-2", "status": "installed", "manager": "dpkg"},
                        {"name": "kesl", "version": "12.1.0-1508", "status": "installed", "manager": "dpkg"}]}
    facts = match(inv, catalogs)
    assert [(f["vendor"], f["product"], f["version"]) for f in facts["findings"]] == [
        ("kaspersky", "kesl", "12.1.0.1508"), ("acme", "acme-av", "3.1.2")]


BROKEN = [
    ("schema: 2\nvendor: x\nproducts: []\n", "schema: must be 1"),
    ("[]", "must be a YAML mapping"),
    ("schema: 1\nvendor: Bad Vendor\nproducts: []\n", "vendor: must match"),
    ("schema: 1\nvendor: x\nproducts: []\n", "products: must be a non-empty list"),
    (ACME.replace("method: package", "method: magic"), r"products\[0\] \(acme-av\)\.removal\.method"),
    (ACME.replace("role: protection", "role: boss"), r"\.role: must be one of"),
    (ACME.replace("platform: linux", "platform: macos"), r"\.platform: must be one of"),
    (ACME.replace("services: [acmed]", "servces: [acmed]"), "unknown key.*servces"),
    (ACME.replace("services: [acmed]", "services: ['re:acme(']"), "invalid regular expression"),
    (ACME.replace("services: [acmed]", "paths: [opt/acme]"), "not an absolute path"),
    (ACME.replace("services: [acmed]", "drivers: [acmedrv]"), "is not a linux signature"),
    (ACME.replace("      packages: [acme-av]\n      services: [acmed]\n", "      packages: []\n"),
     "must name at least one signature"),
    (ACME + ACME[ACME.index("  - id"):], "duplicate id 'acme-av'"),
    (ACME.replace("      method: package\n      packages: [acme-av]", "      method: package"),
     "required for method package"),
    ("schema: 1\nvendor: x\nproducts: [\n", "not valid YAML"),
    (ACME + "      residue: [/opt/acme/av]\n",
     r"residue\[0\]: /opt/acme/av is not inside the vendor's directories "
     r"\(leftovers.linux.paths: none\); list a file of the vendor outside them under residue_files"),
    (ACME_DIRS + "      residue: [/opt/acme/av, /usr/lib/acme]\n",
     r"products\[0\] \(acme-av\)\.removal\.residue\[1\]: /usr/lib/acme is not inside .*: /opt/acme, /var/opt/acme"),
    (ACME_DIRS + "      residue: [/opt/*]\n", r"removal\.residue\[0\]: .*needs at least 3 literal characters"),
    (ACME_DIRS + "      residue_files: [/etc/passwd]\n",
     r"removal\.residue_files\[0\]: residue file /etc/passwd is a protected system file"),
    (ACME_DIRS + "      residue_files: [/usr/bin/acme*]\n", r"residue_files\[0\]: .*is a glob"),
    (ACME_DIRS + "      residue_files: [usr/bin/acme]\n", r"residue_files\[0\]: .*not absolute"),
    (ACME_DIRS + "      residue_files: /usr/bin/acme\n", r"residue_files: must be a list"),
    (ACME_DIRS.replace("paths: [/opt/acme, ", "paths: [/opt, "), r"leftovers.linux.paths: .*protected"),
    (ACME.replace("platform: linux", "platform: windows").replace("packages: [acme-av]\n      services", "display_names: [acme]\n      services")
     .replace("method: package\n      packages: [acme-av]", "method: msi\n      residue_files: [/usr/bin/acme]"),
     r"removal\.residue_files: is a Linux recipe key"),
]


@pytest.mark.parametrize("text, message", BROKEN, ids=[message for _text, message in BROKEN])
def test_broken_catalogs_are_refused_with_the_key_named(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CatalogError, match=message) as info:
        load_catalog(path)
    assert path in str(info.value)


def test_missing_catalog_and_unknown_name(tmp_path):
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(str(tmp_path / "nope.yml"))
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog("nosuchvendor")
    with pytest.raises(CatalogError, match="unknown catalog name"):
        load_catalog("Bad Name!")


def test_same_vendor_twice_is_an_error(tmp_path):
    one = write(tmp_path, ACME, "one.yml")
    two = write(tmp_path, ACME, "two.yml")
    with pytest.raises(CatalogError, match="defined twice"):
        load_catalogs([one, two])
    assert len(load_catalogs([one, one])) == 1


def test_catalog_is_reloaded_when_the_file_changes(tmp_path):
    path = write(tmp_path, ACME)
    first = load_catalog(path)
    assert load_catalog(path) is first
    write(tmp_path, ACME.replace("ACME Antivirus for Linux", "ACME AV"))
    import os
    os.utime(path, ns=(1, 1))
    assert load_catalog(path).products[0].name == "ACME AV"


def test_shipped_residue_stays_in_the_vendor_directories_and_files_outside_are_named():
    catalog = load_catalog("kaspersky")
    assert catalog.vendor_dirs == ["/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky"]
    files = {p.id: p.removal.get("residue_files") for p in catalog.for_platform("linux") if p.removal.get("residue_files")}
    assert files == {"kesl": ["/usr/bin/kesl-control"], "klnagent": ["/usr/bin/klnagent"],
                     "ksc-web-console": ["/etc/ksc-web-console-setup.json"]}
    for product in catalog.for_platform("linux"):
        for path in product.removal.get("residue", []):
            assert any(path == d or path.startswith(d + "/") for d in catalog.vendor_dirs), (product.id, path)
        # what the recipe deletes is a trace the scan looks for, the files outside too
        for path in product.removal.get("residue", []) + product.removal.get("residue_files", []):
            assert path in product.signatures.texts["paths"], (product.id, path)


def test_residue_files_become_detection_paths(tmp_path):
    path = write(tmp_path, ACME_DIRS + "      residue: [/opt/acme/av]\n      residue_files: [/usr/bin/acme-scan]\n")
    (product,) = load_catalog(path).products
    assert product.signatures.texts["paths"] == ["/opt/acme/av", "/usr/bin/acme-scan"]
    assert product.removal["residue_files"] == ["/usr/bin/acme-scan"]


# --- the parse cache: the YAML parser is skipped, never the checks ------------------------------


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    """A temporary folder of its own for the parse cache, and an empty in-process cache."""
    import tempfile

    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog

    home = tmp_path / "tmp"
    home.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(home))
    monkeypatch.delenv(_catalog.PARSE_CACHE_ENV, raising=False)
    monkeypatch.setattr(_catalog, "_CACHE", {})
    return home


def fresh_load(path):
    """Load as a new worker process does: nothing cached in memory."""
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog

    _catalog._CACHE.clear()
    return load_catalog(path)


def no_yaml(monkeypatch):
    import yaml

    def refuse(*args, **kwargs):
        raise AssertionError("the YAML parser ran although the parsed document was cached")
    monkeypatch.setattr(yaml, "load", refuse)


def test_a_second_worker_reads_the_parsed_catalog_without_the_yaml_parser(tmp_path, cache_home, monkeypatch):
    path = write(tmp_path, ACME)
    first = fresh_load(path)
    cached = list(cache_home.glob("fleetsec-divest-*/catalog-*.json"))
    assert len(cached) == 1
    assert oct(cached[0].parent.stat().st_mode & 0o777) == "0o700"
    no_yaml(monkeypatch)
    second = fresh_load(path)
    assert second is not first
    assert [(p.id, p.name, p.removal) for p in second.products] == [(p.id, p.name, p.removal) for p in first.products]
    assert match(
        {"schema": 1, "platform": {"system": "Linux"}, "packages": [{"name": "acme-av", "status": "installed"}]},
        [second])["status"] == "affected"


def test_a_cached_catalog_is_still_checked_in_full(tmp_path, cache_home, monkeypatch):
    bad = ACME.replace("method: package", "method: sideways")
    path = write(tmp_path, bad)
    with pytest.raises(CatalogError, match="method"):
        fresh_load(path)
    assert list(cache_home.glob("fleetsec-divest-*/catalog-*.json")), "the parsed document was kept"
    no_yaml(monkeypatch)
    with pytest.raises(CatalogError, match="method"):
        fresh_load(path)


def test_a_changed_catalog_is_parsed_again(tmp_path, cache_home):
    path = write(tmp_path, ACME)
    fresh_load(path)
    write(tmp_path, ACME.replace("ACME Antivirus for Linux", "ACME AV"))
    assert fresh_load(path).products[0].name == "ACME AV"
    assert len(list(cache_home.glob("fleetsec-divest-*/catalog-*.json"))) == 2


def test_a_document_json_would_change_is_never_cached(tmp_path, cache_home):
    # a YAML date is not JSON: through a JSON copy it would come back as text
    path = write(tmp_path, ACME.replace("name: ACME Antivirus\n", "name: 2026-12-05\n", 1))
    catalog = fresh_load(path)
    assert catalog.name.isoformat() == "2026-12-05"
    assert not list(cache_home.glob("fleetsec-divest-*/catalog-*.json"))
    assert fresh_load(path).name.isoformat() == "2026-12-05"


def test_an_unsafe_cache_folder_is_not_used(tmp_path, cache_home, monkeypatch):
    import os

    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog

    folder = cache_home / ("fleetsec-divest-%d" % os.getuid())
    folder.mkdir()
    folder.chmod(0o777)                       # anyone could plant a document there
    assert _catalog.parse_cache_dir() is None
    path = write(tmp_path, ACME)
    assert fresh_load(path).vendor == "acme"
    assert not list(folder.iterdir())
    folder.rmdir()
    os.symlink(str(tmp_path), str(folder))    # a link to a folder of someone else's choice
    assert _catalog.parse_cache_dir() is None


def test_a_broken_cache_file_falls_back_to_the_yaml(tmp_path, cache_home):
    path = write(tmp_path, ACME)
    fresh_load(path)
    (cached,) = cache_home.glob("fleetsec-divest-*/catalog-*.json")
    cached.write_text('{"schema": 1, "vendor": "acme", "products": [')
    assert fresh_load(path).products[0].id == "acme-av"


def test_the_parse_cache_can_be_switched_off(tmp_path, cache_home, monkeypatch):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog

    monkeypatch.setenv(_catalog.PARSE_CACHE_ENV, "off")
    path = write(tmp_path, ACME)
    assert fresh_load(path).vendor == "acme"
    assert not list(cache_home.iterdir())


ACME_RE = ACME.replace("packages: [acme-av]\n      services: [acmed]", "packages: ['re:acme-av(-[0-9]+)?']\n      services: [acmed]", 1)


def test_a_catalog_whose_expression_does_not_compile_is_refused_on_every_load(tmp_path, cache_home):
    path = write(tmp_path, ACME_RE.replace("re:acme-av(-[0-9]+)?", "re:acme-av(-[0-9]+"))
    for dummy in range(3):
        with pytest.raises(CatalogError, match="invalid regular expression"):
            fresh_load(path)


def test_expressions_compiled_on_first_use_match_as_before(tmp_path, cache_home, monkeypatch):
    path = write(tmp_path, ACME_RE)
    inventory = {"schema": 1, "platform": {"system": "Linux"},
                 "packages": [{"name": "acme-av-2", "status": "installed"}, {"name": "acme-avx", "status": "installed"}]}
    loads = [fresh_load(path) for dummy in range(3)]   # parse; mark the expressions compiled; compile on use
    no_yaml(monkeypatch)
    for catalog in loads + [fresh_load(path)]:
        facts = match(inventory, [catalog])
        assert facts["status"] == "affected"
        assert [e["name"] for f in facts["findings"] for e in f["evidence"]] == ["acme-av-2"]


def test_no_usable_temporary_folder_or_a_full_disk_only_costs_the_cache(tmp_path, cache_home, monkeypatch):
    import tempfile

    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog

    path = write(tmp_path, ACME)

    def no_tempdir():
        raise FileNotFoundError("No usable temporary directory found")
    monkeypatch.setattr(tempfile, "gettempdir", no_tempdir)
    assert _catalog.parse_cache_dir() is None
    assert fresh_load(path).vendor == "acme"
    monkeypatch.undo()
    monkeypatch.setattr(tempfile, "tempdir", str(cache_home))
    monkeypatch.setattr(_catalog, "_CACHE", {})

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(tempfile, "mkstemp", full)
    assert fresh_load(path).vendor == "acme"
    assert fresh_load(path).products[0].id == "acme-av"
    assert not [p for p in cache_home.rglob("*") if p.is_file()]


def test_cache_files_of_another_format_are_left_to_the_version_that_wrote_them(tmp_path, cache_home):
    import hashlib
    import json
    import os

    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog

    # another checkout of the collection (same user) cached the document in an older format
    path = write(tmp_path, ACME)
    data = open(path, "rb").read()
    folder = cache_home / ("fleetsec-divest-%d" % os.getuid())
    folder.mkdir(mode=0o700)
    theirs = folder / ("catalog-%s.json" % hashlib.sha256(data).hexdigest())
    theirs.write_text(json.dumps({"schema": 1, "vendor": "older", "products": []}))
    assert fresh_load(path).vendor == "acme"
    assert json.loads(theirs.read_text())["vendor"] == "older", "another version's file was overwritten"
    (mine,) = folder.glob("catalog-%s-*.json" % _catalog.CACHE_FORMAT)
    assert json.loads(mine.read_text())["document"]["vendor"] == "acme"
