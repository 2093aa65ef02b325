"""The mlep command: plans, reviews and rolls out the ml-endpoints Pulumi program.

Four rooms, each a subpackage, importing downwards only (import-linter checks it):

- `cli`: parses the command line and calls the rooms below; nothing else.
- `change` (review, rollout, rollback, guardrails) and `authoring` (new, import): the
  commands' work. Neither imports the other.
- `engine`: runs the Pulumi program offline, the policy pack, the plan document. The only
  room that imports Pulumi.
- `stack`: the project and stack files, editing them, their git history.

`errors` holds the one usage error all of them raise.
"""
