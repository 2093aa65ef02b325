"""stack: the project and stack files, and their git history.

Reading and validating `Pulumi.yaml` and `Pulumi.<stack>.yaml` (`files`, `ref`: a stack is a
`StackRef`, a project directory and a stack name), editing a stack file in place without
touching anything else in it (`edit`: insert an endpoint; `traffic_edit`: change traffic
shares), the traffic before a change (`previous`), the traffic through the stack file's git
history (`history`), and the one git reader of mlep (`git`).

It imports no other room of mlep, and no Pulumi: only `models`, ruamel.yaml and git.
"""

from mlep.stack.files import StackFile, read_project
from mlep.stack.previous import EndpointTraffic, PreviousTraffic, load_previous
from mlep.stack.ref import StackConfigError, StackRef

__all__ = [
    "EndpointTraffic",
    "PreviousTraffic",
    "StackConfigError",
    "StackFile",
    "StackRef",
    "load_previous",
    "read_project",
]
