# Creates or refreshes the project's virtual environment in .venv, then returns.
# Sourced by bin/mlep and bin/test: the first run installs uv from scripts/uv.lock.txt, then
# everything pinned in requirements.lock, then the project itself (editable), every package
# hash-checked; later runs only compare a stamp and cost nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.mlep-lock.sha256"

find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 is required (looked for python3.11, python3, python)." >&2
  echo "fix: install Python 3.11 and run this command again." >&2
  return 1
}

# Every file the set-up reads: a change to any of them sets the environment up again.
want="$(cat "$ROOT/requirements.lock" "$ROOT/scripts/uv.lock.txt" "$ROOT/pyproject.toml" \
  "$ROOT/scripts/bootstrap.sh" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
  echo "Setting up .venv (first run, or the lock file changed) ..." >&2
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$(find_python)" -m venv "$VENV"
  fi
  # uv installs the ~400 MB of provider SDKs several times faster than pip.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
    --no-deps -r "$ROOT/scripts/uv.lock.txt"
  # Compiled once here, so no run pays for compiling the provider SDKs' modules (seconds per
  # run where PYTHONDONTWRITEBYTECODE is set or site-packages is read-only).
  "$VENV/bin/uv" pip sync --quiet --python "$VENV/bin/python" --require-hashes --compile-bytecode \
    "$ROOT/requirements.lock"
  # The editable install builds with the setuptools requirements.lock just installed (pyproject's
  # build-system), not with whatever an isolated build environment would download unpinned.
  "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps --no-build-isolation \
    -e "$ROOT"
  echo "$want" >"$STAMP"
fi
