"""Everything that runs with credentials, or sets up what does, is locked: the policy pack's
requirements are a hash lock equal to requirements.lock, uv and the editable install's build
backend are installed hash-checked, and scripts/prometheus.sh takes the pinned Debian build or
nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PACK_LOCK = ROOT / "policies" / "requirements.txt"
UV_LOCK = ROOT / "scripts" / "uv.lock.txt"
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
PROMETHEUS_SCRIPT = ROOT / "scripts" / "prometheus.sh"
# The pack's own imports (policies/mlep_policies import only pulumi_policy and the standard
# library; the SDK pins the rest), as pulumi-policy's README asks them to be installed.
PACK_ROOTS = ("pulumi-policy", "pulumi", "protobuf", "grpcio")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: frozenset[str]


def requirement_lines(path: Path) -> list[str]:
    """The file's requirements, continuation lines joined, comments and blank lines dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


def pins(path: Path) -> dict[str, Pin]:
    found = {}
    for line in requirement_lines(path):
        match = PIN.match(line)
        assert match, f"{path.name}: not an exact pin: {line[:80]}"
        name = canonicalize_name(match["name"])
        found[name] = Pin(match["version"], frozenset(HASH.findall(line)))
    return found


# --- the policy pack -----------------------------------------------------------------------


@pytest.mark.parametrize("path", [PACK_LOCK, LOCK, UV_LOCK], ids=lambda p: p.name)
def test_every_requirement_is_an_exact_pin_with_hashes(path: Path) -> None:
    for line in requirement_lines(path):
        assert not line.startswith("-"), f"{path.name}: options are not allowed: {line[:80]}"
        assert PIN.match(line), f"{path.name}: not pinned with ==: {line[:80]}"
        assert HASH.search(line), f"{path.name}: no --hash: {line[:80]}"


def test_pack_lock_agrees_with_requirements_lock() -> None:
    """The pack `pulumi up` runs is the pack `mlep plan` ran: same versions, same files."""
    lock = pins(LOCK)
    for name, pin in pins(PACK_LOCK).items():
        assert name in lock, f"{name} is in policies/requirements.txt, not in requirements.lock"
        assert pin.version == lock[name].version, (
            f"{name}: {pin.version} for the pack, {lock[name].version} in requirements.lock"
        )
        assert pin.hashes == lock[name].hashes, f"{name}: the two locks hash other files"


def _closure(roots: tuple[str, ...]) -> set[str]:
    """Names of the installed distributions ``roots`` need on this platform, with theirs."""
    environment: dict[str, str] = dict(default_environment())
    needed: set[str] = set()
    todo = [Requirement(root) for root in roots]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        extras = requirement.extras
        if name in needed and not extras:
            continue
        needed.add(name)
        for text in metadata.requires(name) or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(
                marker.evaluate({**environment, "extra": extra}) for extra in {"", *extras}
            ):
                todo.append(dependency)
    return needed


def test_pack_lock_is_the_packs_whole_dependency_closure() -> None:
    """Every package the pack's imports pull in is locked, and nothing else: computed from
    the metadata of this environment, which requirements.lock installed at the same versions."""
    assert set(pins(PACK_LOCK)) == _closure(PACK_ROOTS)


# --- the set-up: uv and the build backend ---------------------------------------------------


def test_bootstrap_installs_uv_hash_checked_from_its_lock() -> None:
    script = BOOTSTRAP.read_text()
    assert re.search(r"pip install [^\n]*--require-hashes", script)
    assert '-r "$ROOT/scripts/uv.lock.txt"' in script
    assert "uv==" not in script  # the version lives in the lock only
    assert set(pins(UV_LOCK)) == {"uv"}


def test_bootstrap_sets_up_again_when_any_file_it_reads_changes() -> None:
    script = BOOTSTRAP.read_text()
    stamp = re.search(r'want="\$\(cat (.+?)\| sha256sum', script, re.DOTALL)
    assert stamp
    stamped = set(re.findall(r'"\$ROOT/([^"]+)"', stamp.group(1)))
    read = set(re.findall(r'"\$ROOT/([^"]+)"', script[stamp.end() :]))
    # pyproject.toml: the editable install (`-e "$ROOT"`) reads it.
    assert read | {"pyproject.toml", "scripts/bootstrap.sh"} <= stamped


def test_editable_install_builds_with_the_locked_setuptools() -> None:
    """No isolated build environment: it would fetch pyproject's build requirements unpinned."""
    script = BOOTSTRAP.read_text()
    install = re.search(r'uv" pip install [^\n]*(?:\\\n[^\n]*)*-e "\$ROOT"', script)
    assert install
    assert "--no-build-isolation" in install.group(0)
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    requires = [Requirement(text) for text in build["requires"]]
    assert [canonicalize_name(r.name) for r in requires] == ["setuptools"]
    locked = pins(LOCK)["setuptools"]
    assert locked.hashes
    assert SpecifierSet(str(requires[0].specifier)).contains(locked.version)
    assert f"setuptools=={locked.version}" in (ROOT / "requirements-dev.in").read_text()


# --- scripts/prometheus.sh -------------------------------------------------------------------


def pinned_prometheus() -> str:
    found = re.search(r'^VERSION="([^"]+)"', PROMETHEUS_SCRIPT.read_text(), re.MULTILINE)
    assert found, "scripts/prometheus.sh pins no VERSION"
    return found.group(1)


FAKE_APT_GET = """#!/bin/sh
# apt-get download: serves $FAKE_DEB when it is set, as Debian's mirror would, else refuses.
if [ -n "$FAKE_DEB" ]; then cp "$FAKE_DEB" ./prometheus_fake_amd64.deb; exit 0; fi
echo "E: Version '${2#prometheus=}' for 'prometheus' was not found" >&2
exit 100
"""
FAKE_APT_CACHE = """#!/bin/sh
printf 'prometheus:\\n  Installed: (none)\\n  Candidate: 9.9.9+ds-1\\n'
"""


@dataclass(frozen=True)
class Checkout:
    """A copy of scripts/prometheus.sh in a project of its own, with apt made up."""

    root: Path
    env: dict[str, str]

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/bash", str(self.root / "scripts" / "prometheus.sh")],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(PROMETHEUS_SCRIPT, root / "scripts")
    bin_dir = tmp_path / "bin"  # no prometheus on this PATH, whatever the machine has
    bin_dir.mkdir()
    for tool in ("dirname", "mktemp", "rm", "cat", "awk", "mkdir", "mv", "cp", "dpkg-deb", "tar"):
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"no {tool} on this machine")
        (bin_dir / tool).symlink_to(found)
    for name, text in (("apt-get", FAKE_APT_GET), ("apt-cache", FAKE_APT_CACHE)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return Checkout(root, {"PATH": str(bin_dir), "HOME": str(tmp_path)})


def _fake_deb(directory: Path, version: str) -> Path:
    """A package named prometheus at ``version`` with an executable usr/bin/prometheus."""
    tree = directory / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: prometheus\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: test <test@example.invalid>\nDescription: test\n"
    )
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "usr" / "bin" / "prometheus").write_text("#!/bin/sh\n")
    (tree / "usr" / "bin" / "prometheus").chmod(0o755)
    deb = directory / "prometheus.deb"
    subprocess.run(["dpkg-deb", "--build", str(tree), str(deb)], capture_output=True, check=True)
    return deb


def test_prometheus_pin_is_a_debian_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+\+ds-\d+(\+deb\d+u\d+)?", pinned_prometheus())


def test_prometheus_fails_naming_the_fix_when_the_pinned_version_is_missing(
    checkout: Checkout,
) -> None:
    result = checkout.run()
    assert result.returncode == 1
    assert result.stdout == ""  # no path: the tests stop, they never run another server
    assert pinned_prometheus() in result.stderr
    assert "candidate: 9.9.9+ds-1" in result.stderr
    assert "fix:" in result.stderr
    assert not (checkout.root / ".cache" / "prometheus").exists()


def test_prometheus_refuses_a_package_of_another_version(
    checkout: Checkout, tmp_path: Path
) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("no dpkg-deb on this machine")
    env = {**checkout.env, "FAKE_DEB": str(_fake_deb(tmp_path, "9.9.9+ds-1"))}
    result = Checkout(checkout.root, env).run()
    assert result.returncode == 1
    assert result.stdout == ""
    assert "9.9.9+ds-1" in result.stderr
    assert "fix:" in result.stderr
    assert not (checkout.root / ".cache" / "prometheus").exists()


def test_prometheus_unpacks_the_pinned_version_and_reuses_it(
    checkout: Checkout, tmp_path: Path
) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("no dpkg-deb on this machine")
    env = {**checkout.env, "FAKE_DEB": str(_fake_deb(tmp_path, pinned_prometheus()))}
    binary = checkout.root / ".cache" / "prometheus" / "usr" / "bin" / "prometheus"
    first = Checkout(checkout.root, env).run()
    assert (first.returncode, first.stdout.strip()) == (0, str(binary)), first.stderr
    again = checkout.run()  # apt would refuse now: the cached copy is used
    assert (again.returncode, again.stdout.strip()) == (0, str(binary)), again.stderr


def test_prometheus_does_not_reuse_a_cached_copy_of_another_version(checkout: Checkout) -> None:
    cache = checkout.root / ".cache" / "prometheus"
    (cache / "usr" / "bin").mkdir(parents=True)
    (cache / "usr" / "bin" / "prometheus").write_text("#!/bin/sh\n")
    (cache / "usr" / "bin" / "prometheus").chmod(0o755)
    (cache / ".debian-version").write_text("2.31.2+ds1-1\n")
    result = checkout.run()
    assert result.returncode == 1
    assert result.stdout == ""


def test_prometheus_script_has_no_unpinned_download() -> None:
    script = PROMETHEUS_SCRIPT.read_text()
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    downloads = re.findall(r"apt-get download (\S+)", code)
    assert downloads == ['"prometheus=$VERSION"']
