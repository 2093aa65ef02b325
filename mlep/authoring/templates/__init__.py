"""Endpoint templates: a new endpoint spec from `templates/endpoints/NAME.yaml`.

A template holds one endpoint body per target (`ml-endpoints:target` of the stack decides
which) with `${parameter}` placeholders, and declares those parameters. `stamp` fills them
in, adds the name and the governance tags, and validates the result with the same models and
cross-field rules `mlep plan` uses, so every error names the flag that caused it (`--model`,
`--data-sensitivity`, the ENDPOINT argument), the value given and the fix. The format is
described in templates/README.md.

Substitution works on the parsed YAML, never on text: a value can never inject structure.
A scalar that is exactly one placeholder takes the parameter's typed value (an integer for
`type: integer`); an optional parameter that was not given removes the field it fills (and a
mapping left empty by that); a placeholder inside a longer string is replaced as text.

Its pieces: `template` (what a template is: its parameters and bodies), `schema` (the file
format as pydantic models, and their errors as the problem a template author sees), `reading`
(finding and reading template files), `inputs` (what `mlep new` asks for) and `stamping` (a
spec from a template, validated).
"""

from mlep.authoring.templates.inputs import Input, required_inputs, template_inputs
from mlep.authoring.templates.reading import list_templates, load_template
from mlep.authoring.templates.stamping import stamp
from mlep.authoring.templates.template import SENSITIVITIES, TARGETS, Parameter, Template

__all__ = [
    "SENSITIVITIES",
    "TARGETS",
    "Input",
    "Parameter",
    "Template",
    "list_templates",
    "load_template",
    "required_inputs",
    "stamp",
    "template_inputs",
]
