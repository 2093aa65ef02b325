#!/usr/bin/env bash
# Prints the path of a Prometheus server binary, fetching Debian's package when there is none.
# tests/test_guardrails_prometheus.py runs it to start a real Prometheus on loopback.
#
# Looks in order at: `prometheus` on PATH; the copy unpacked earlier into .cache/prometheus;
# otherwise downloads the pinned Debian package (`apt-get download` installs nothing) and
# unpacks it with `dpkg-deb -x` into .cache/prometheus (git-ignored). Nothing outside the
# repository changes, so it needs no root and leaves the system's packages alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache/prometheus"
BINARY="$CACHE/usr/bin/prometheus"
# Debian bookworm's build; pinned so every machine's tests run against the same server.
VERSION="2.42.0+ds-5+deb12u1"

if command -v prometheus >/dev/null 2>&1; then
  command -v prometheus
  exit 0
fi
if [[ -x "$BINARY" ]]; then
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
  echo "warning: prometheus=$VERSION is not available; downloading the candidate version" \
    "($(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}'))." >&2
  if ! apt-get download prometheus >&2; then
    echo "error: could not download Debian's prometheus package." >&2
    echo "fix: run 'apt-get update' (as root), or install Prometheus and put it on PATH." >&2
    exit 1
  fi
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
rm -rf "$CACHE"
mv "$unpacked" "$CACHE"
echo "$BINARY"
