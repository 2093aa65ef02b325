"""Dual-key rotation of an Azure ML endpoint (auth_mode: key), resumable at any step.

Clients keep working throughout: while the secondary key is regenerated they use the
primary; once the new secondary is in Key Vault they move to it, and only then is the primary
regenerated (https://learn.microsoft.com/azure/machine-learning/how-to-authenticate-online-endpoint).
The steps:

1. regenerate the secondary key (regenerateKeys, a long-running operation);
2. read it (listKeys) and store it as a new version of `mlep-<endpoint>-secondary-key`;
3. wait for clients to move to it (`--wait-minutes`, `--yes` or a prompt on a terminal);
4. regenerate the primary key;
5. read it and store it as a new version of `mlep-<endpoint>-primary-key`.

After each step a small state file (`.mlep/key-rotations/<stack>.<endpoint>.json`: the next
step and when, never a key) is replaced atomically (mlep/stack/writing.py); a rerun resumes
at the step that failed or was not reached, so a failed Key Vault write is retried without
regenerating the key again. The file is removed when the rotation ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from mlep.errors import SourceUnavailable, UsageError
from mlep.ops import _keys_vault as kv
from mlep.ops.arm import Arm
from mlep.stack.writing import replace_file, sync_directory

STEPS = ("regenerate-secondary", "store-secondary", "regenerate-primary", "store-primary")
# Shown as the five steps of the runbook: waiting for clients is step 3.
NUMBER = {
    "regenerate-secondary": 1,
    "store-secondary": 2,
    "regenerate-primary": 4,
    "store-primary": 5,
}
STATE_DIR = Path(".mlep") / "key-rotations"
sleep = time.sleep  # tests replace it


def key_secret(endpoint: str, slot: str) -> str:
    """components.naming.key_secret: the Key Vault secret of an endpoint key."""
    return f"mlep-{endpoint}-{slot}-key"


@dataclass(frozen=True)
class Gate:
    """What lets step 4 go ahead: a wait, a --yes, or an answer on a terminal."""

    yes: bool
    wait_minutes: float | None
    interactive: bool
    resume_command: str


@dataclass(frozen=True)
class Rotation:
    """One endpoint's rotation: where it is, where its keys go, how its state is kept."""

    endpoint: str
    endpoint_path: str  # the ARM path of the online endpoint
    vault: kv.Vault
    state_file: Path
    today: datetime


def state_path(project_dir: Path, stack: str, endpoint: str) -> Path:
    return project_dir / STATE_DIR / f"{stack}.{endpoint}.json"


def rotate(rotation: Rotation, arm: Arm, gate: Gate, out: Console, err: Console) -> int:
    start = _read_state(rotation.state_file)
    if start != STEPS[0]:
        err.print(
            f"mlep: resuming the rotation of {rotation.endpoint} at step {NUMBER[start]} "
            f"({start}; state in {_shown(rotation.state_file)})",
            markup=False,
        )
    for step in STEPS[STEPS.index(start) :]:
        if step == "regenerate-primary":
            _write_state(rotation.state_file, step)
            if not _clients_moved(rotation, gate, out, err):
                return 0
        _run_step(step, rotation, arm, out)
        following = STEPS.index(step) + 1
        if following < len(STEPS):
            _write_state(rotation.state_file, STEPS[following])
    _remove_state(rotation.state_file)
    out.print(
        f"Rotated both keys of {rotation.endpoint}; Key Vault {rotation.vault.name} holds them "
        "as new versions. Callers that read the primary secret pick it up on their next read.",
        markup=False,
    )
    return 0


def _run_step(step: str, rotation: Rotation, arm: Arm, out: Console) -> None:
    slot = step.split("-", 1)[1]
    what = f"online endpoint {rotation.endpoint}"
    if step.startswith("regenerate-"):
        arm.long_running(
            "POST",
            f"{rotation.endpoint_path}/regenerateKeys",
            what=what,
            body={"keyType": slot.capitalize()},
        )
        out.print(f"[{NUMBER[step]}/5] regenerated the {slot} key", markup=False)
        return
    keys = arm.call("POST", f"{rotation.endpoint_path}/listKeys", what=what)
    value = keys.get(f"{slot}Key")
    if not isinstance(value, str) or not value:
        raise SourceUnavailable(
            f"{what}: listKeys returned no {slot} key (is the endpoint still key auth?); fix: "
            "run the command again"
        )
    secret = key_secret(rotation.endpoint, slot)
    version = rotation.vault.store(
        secret,
        value,
        content_type=kv.KEY_CONTENT_TYPE,
        expires_on=kv.key_expiry(rotation.today.date()),
    )
    out.print(
        f"[{NUMBER[step]}/5] stored the new {slot} key in Key Vault {rotation.vault.name} as "
        f"{secret} (version {version})",
        markup=False,
    )


def _clients_moved(rotation: Rotation, gate: Gate, out: Console, err: Console) -> bool:
    secret = key_secret(rotation.endpoint, "secondary")
    if gate.wait_minutes is not None:
        out.print(
            f"[3/5] waiting {gate.wait_minutes:g} min for clients to move to the secondary key "
            f"({secret}) ...",
            markup=False,
        )
        sleep(gate.wait_minutes * 60)
        return True
    if gate.yes:
        out.print("[3/5] clients use the secondary key (--yes)", markup=False)
        return True
    if gate.interactive:
        answer = err.input(
            f"[3/5] Have all clients moved to the secondary key ({secret})? Regenerate the "
            "primary now? [y/N] "
        )
        if answer.strip().lower() in ("y", "yes"):
            return True
    out.print(
        f"[3/5] stopped before regenerating the primary key: clients must move to the new "
        f"secondary key ({secret}) first. When they have, resume with:\n"
        f"  {gate.resume_command} --yes",
        markup=False,
    )
    return False


def _read_state(path: Path) -> str:
    """The step to start at: the first, or the one the state file names."""
    if not os.path.lexists(path):
        return STEPS[0]
    try:
        state: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise _bad_state(path, str(error)) from None
    step = state.get("next_step") if isinstance(state, dict) else None
    if step not in STEPS:
        raise _bad_state(path, f"next_step {step!r} is none of {', '.join(STEPS)}")
    return str(step)


def _write_state(path: Path, step: str) -> None:
    data = {
        "next_step": step,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": "mlep keys rotate resumes here; delete this file to start over",
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Keep the state out of git without touching the project's .gitignore.
        ignore = path.parent.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        if not os.path.lexists(path):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            sync_directory(path.parent)
        before = path.read_bytes()
    except OSError as error:
        raise UsageError(
            f"{_shown(path)}: cannot keep the rotation's state ({error.strerror or error}); fix: "
            "make the directory writable, then run the command again (it resumes)"
        ) from None
    replace_file(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"), expected=before)


def _remove_state(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _bad_state(path: Path, reason: str) -> UsageError:
    return UsageError(
        f"{_shown(path)}: not a rotation state mlep wrote ({reason}); fix: delete it to start "
        "the rotation over (from regenerating the secondary key)"
    )


def _shown(path: Path) -> str:
    parts = path.parts
    return str(Path(*parts[-3:])) if len(parts) >= 3 else str(path)
