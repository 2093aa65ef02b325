#!/usr/bin/env bash
# Prints the path of a Prometheus server binary, fetching Debian's package when there is none.
# tests/test_guardrails_prometheus.py runs it to start a real Prometheus on loopback.
#
# Looks in order at: `prometheus` on PATH (your choice, taken as it is); the copy of the pinned
# version unpacked earlier into .cache/prometheus; otherwise downloads the pinned Debian package
# (`apt-get download` installs nothing; apt checks it against the signed package index) and
# unpacks it with `dpkg-deb -x` into .cache/prometheus (git-ignored). Nothing outside the
# repository changes, so it needs no root and leaves the system's packages alone. When the
# pinned version cannot be had it fails, naming the fix: it never takes another version.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache/prometheus"
BINARY="$CACHE/usr/bin/prometheus"
# The package version the cached copy was unpacked from.
STAMP="$CACHE/.debian-version"
# Debian bookworm's build; pinned so every machine's tests run against the same server.
VERSION="2.42.0+ds-5+deb12u1"

if command -v prometheus >/dev/null 2>&1; then
  command -v prometheus
  exit 0
fi
if [[ -x "$BINARY" && -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION" ]]; then
  echo "$BINARY"
  exit 0
fi

for tool in apt-get dpkg-deb; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: no prometheus on PATH, and no $tool to fetch Debian's package." >&2
    echo "fix: install Prometheus (https://prometheus.io/download/) and put it on PATH." >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt-get download writes into the current directory; its progress goes to stderr so that
# stdout carries only the path.
cd "$work"
if ! apt-get download "prometheus=$VERSION" >&2; then
  candidate="$(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}')"
  echo "error: Debian's prometheus $VERSION (the pinned version) is not available from this" \
    "machine's apt sources (their candidate: ${candidate:-none})." >&2
  echo "fix: run 'apt-get update' (as root) with Debian bookworm in the sources; if Debian has" \
    "replaced the build, pin the new one in scripts/prometheus.sh (VERSION) and the README;" \
    "or install Prometheus yourself and put it on PATH." >&2
  exit 1
fi
got="$(dpkg-deb -f "$work"/prometheus_*.deb Version)"
if [[ "$got" != "$VERSION" ]]; then
  echo "error: apt-get downloaded prometheus $got, not the pinned $VERSION." >&2
  echo "fix: check the machine's apt sources and pins (apt-cache policy prometheus)." >&2
  exit 1
fi

# Unpack beside the cache and move into place, so an interrupted run leaves no half copy.
mkdir -p "$ROOT/.cache"
unpacked="$(mktemp -d "$ROOT/.cache/prometheus.XXXXXX")"
dpkg-deb -x "$work"/prometheus_*.deb "$unpacked"
if [[ ! -x "$unpacked/usr/bin/prometheus" ]]; then
  rm -rf "$unpacked"
  echo "error: the downloaded package has no usr/bin/prometheus." >&2
  echo "fix: install Prometheus (https://prometheus.io/download/) and put it on PATH." >&2
  exit 1
fi
echo "$VERSION" >"$unpacked/.debian-version"
rm -rf "$CACHE"
mv "$unpacked" "$CACHE"
echo "$BINARY"
