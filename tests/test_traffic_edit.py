"""The traffic edit in the corners (issue 19, point 6), checked against the YAML parser rather
than against expected texts: whatever the style of the `traffic` field (block with blank and
comment lines, flow on one line or several, braces and `#` in comments, quoted keys, CRLF, no
final newline), the edited file parses to exactly the new shares, everything else parses as
before, and every comment outside the edited values is still there.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlep.errors import UsageError
from mlep.stack import traffic_edit
from mlep.stack.traffic_edit import set_traffic

FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = ["blue", "green", "shadow", "gbm-v3", "v2"]


def parsed(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def endpoint(document: Any, name: str = "e") -> dict[str, Any]:
    (found,) = [e for e in document["config"]["ml-endpoints:endpoints"] if e["name"] == name]
    return found  # type: ignore[no-any-return]


def stack(*items: str) -> str:
    return "config:\n  ml-endpoints:target: azure\n  ml-endpoints:endpoints:\n" + "".join(items)


# ---- the corners the mutation pass found ------------------------------------------------------


BLANK_AND_COMMENT = stack(
    "    - name: e\n"
    "      traffic:\n"
    "        blue: 90\n"
    "\n"
    "        # the canary\n"
    "        green: 10\n"
    "      mirror_traffic: {}\n"
)


def test_a_key_added_to_a_block_with_a_blank_line_and_a_comment_lands_beside_its_siblings() -> None:
    after = set_traffic(BLANK_AND_COMMENT, "e", "traffic", {"blue": 80, "green": 10, "red": 10})
    assert endpoint(parsed(after))["traffic"] == {"blue": 80, "green": 10, "red": 10}
    assert endpoint(parsed(after))["mirror_traffic"] == {}
    lines = after.splitlines()
    assert lines[lines.index("        green: 10") + 1] == "        red: 10"
    assert "        # the canary" in lines


def test_a_key_added_before_a_comment_that_ends_the_block_stays_in_the_block() -> None:
    text = stack(
        "    - name: e\n"
        "      traffic:\n"
        "        blue: 90\n"
        "        green: 10\n"
        "        # about the next field\n"
        "\n"
        "      description: x\n"
    )
    after = set_traffic(text, "e", "traffic", {"blue": 90, "green": 5, "red": 5})
    assert endpoint(parsed(after))["traffic"] == {"blue": 90, "green": 5, "red": 5}
    assert endpoint(parsed(after))["description"] == "x"
    assert "        # about the next field" in after


def test_braces_in_the_trailing_comment_of_a_flow_line_are_left_as_they_are() -> None:
    text = stack("    - name: e\n      traffic: {blue: 100}  # was {blue: 90, green: 10}\n")
    after = set_traffic(text, "e", "traffic", {"blue": 95, "green": 5})
    assert after.endswith("      traffic: {blue: 95, green: 5}  # was {blue: 90, green: 10}\n")


def test_braces_in_comments_inside_a_flow_mapping_over_lines_do_not_end_it() -> None:
    text = stack(
        "    - name: e\n"
        "      traffic: {\n"
        "        blue: 90,  # } closes nothing\n"
        "        green: 10  # { opens nothing\n"
        "      }  # was {blue: 100}\n"
        "      description: after\n"
    )
    after = set_traffic(text, "e", "traffic", {"blue": 80, "green": 20})
    assert endpoint(parsed(after)) == {
        "name": "e",
        "traffic": {"blue": 80, "green": 20},
        "description": "after",
    }
    assert "      traffic: {blue: 80, green: 20}  # was {blue: 100}\n" in after


def test_a_quoted_key_with_a_brace_inside_a_flow_mapping_does_not_end_it() -> None:
    text = stack('    - name: e\n      mirror_traffic: {"a}": 1, green: 10}  # {x}\n')
    after = set_traffic(text, "e", "mirror_traffic", {"green": 20})
    assert after.endswith("      mirror_traffic: {green: 20}  # {x}\n")


SHARED = {
    "endpoint-merged": (
        "    - &one\n      name: a\n      traffic: {blue: 100}\n    - <<: *one\n      name: e\n",
        "comes from a merge key",
    ),
    "alias": ("    - name: e\n      traffic: *t\n", "shared through an anchor or alias"),
    "anchor": (
        "    - name: e\n      traffic: &s {blue: 90, green: 10}\n"
        "    - name: f\n      traffic: *s\n",
        "shared through an anchor or alias",
    ),
    "merge-inside": ("    - name: e\n      traffic: {<<: *t, green: 10}\n", "merges another"),
    "merge-inside-block": (
        "    - name: e\n      traffic:\n        <<: *t\n        green: 10\n",
        "merges another",
    ),
}


@pytest.mark.parametrize("case", sorted(SHARED))
def test_traffic_shared_through_anchors_aliases_or_merges_is_refused(case: str) -> None:
    """Editing it in place would change what else shares it (or find no text to edit)."""
    items, expected = SHARED[case]
    text = "x: &t {blue: 90, green: 10}\n" + stack(items)
    with pytest.raises(UsageError, match=expected) as error:
        set_traffic(text, "e", "traffic", {"blue": 80, "green": 20})
    assert "write `traffic: {...}` out in full" in str(error.value)


def test_an_edit_that_would_change_anything_else_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The safety net: whatever the text edit did, the result is parsed and compared."""
    text = stack("    - name: e\n      traffic: {blue: 100}\n      description: x\n")
    monkeypatch.setattr(
        traffic_edit, "_edited", lambda *args: text.replace("description: x", "description: y")
    )
    with pytest.raises(UsageError, match="without changing something else; nothing was written"):
        set_traffic(text, "e", "traffic", {"blue": 100})


# ---- the property ---------------------------------------------------------------------------


@st.composite
def traffic_fields(draw: st.DrawFn) -> tuple[str, dict[str, int], list[str]]:
    """(the field's lines, its shares, the comments written inside its values)."""
    keys = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=4, unique=True))
    shares = {k: draw(st.integers(0, 100)) for k in keys}
    style = draw(st.sampled_from(["block", "flow", "padded", "flow-lines", "empty-value"]))
    if style == "block" and not shares:
        style = "flow"
    if style == "empty-value":
        shares = {}
    quote = draw(st.sampled_from(["", '"', "'"]))
    trailing = draw(st.sampled_from(["", "  # was {blue: 90}", "  # {", "  # }", " # a: b"]))
    inner: list[str] = []
    if style == "block":
        lines = [f"      traffic:{trailing}"]
        for index, (key, value) in enumerate(shares.items()):
            if index and draw(st.booleans()):
                lines.append("")
            if index and draw(st.booleans()):
                comment = f"# inner {index} {{}}"
                inner.append(comment)
                lines.append(f"        {comment}")
            note = draw(st.sampled_from(["", "  # }", "  # note"]))
            lines.append(f"        {quote}{key}{quote}: {value}{note}")
        return "\n".join(lines), shares, inner
    if style == "empty-value":
        return f"      traffic:{trailing}", shares, inner
    body = [f"{quote}{k}{quote}: {v}" for k, v in shares.items()]
    if style == "flow-lines" and body:
        comment = "# inner {"
        inner.append(comment)
        middle = ",\n".join(f"        {pair}" for pair in body)
        return f"      traffic: {{  {comment}\n{middle}\n      }}{trailing}", shares, inner
    opened, closed = ("{ ", " }") if style == "padded" and body else ("{", "}")
    return f"      traffic: {opened}{', '.join(body)}{closed}{trailing}", shares, inner


@st.composite
def stack_texts(draw: st.DrawFn) -> tuple[str, dict[str, int]]:
    field, _, _ = draw(traffic_fields())
    before = draw(st.sampled_from(["", "      # keep: before {\n"]))
    after = draw(
        st.sampled_from(
            [
                "",
                "      mirror_traffic: {}  # keep: mirror\n",
                "      description: x  # keep: description }\n",
                "\n      # keep: trailing\n",
            ]
        )
    )
    other = draw(
        st.sampled_from(["", "    - name: other  # keep: other\n      traffic: {blue: 100}\n"])
    )
    text = stack(
        "    - name: e  # keep: e\n", before, field, "\n", after, other, "# keep: end of file\n"
    )
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    target = draw(st.dictionaries(st.sampled_from(NAMES), st.integers(0, 100), max_size=4))
    return text, target


@FAST
@given(stack_texts())
def test_any_traffic_field_edits_to_exactly_the_new_shares(
    case: tuple[str, dict[str, int]],
) -> None:
    text, shares = case
    after = set_traffic(text, "e", "traffic", shares)
    before_document, after_document = parsed(text), parsed(after)
    # The field holds exactly the new shares; nothing else of the document moved.
    edited = endpoint(after_document)
    assert (edited.get("traffic") or {}) == shares
    expected = before_document
    endpoint(expected)["traffic"] = edited.get("traffic")
    assert after_document == expected
    # Every comment outside the values is still there, once.
    for line in text.splitlines():
        if "# keep" in line:
            comment = line[line.index("# keep") :]
            assert after.count(comment) == text.count(comment), comment
    # Line endings and the final newline are the file's.
    if "\r\n" in text:
        assert "\n" not in after.replace("\r\n", "")
    assert after.endswith("\n") == text.endswith("\n")


@FAST
@given(stack_texts())
def test_editing_to_the_same_shares_twice_is_stable(case: tuple[str, dict[str, int]]) -> None:
    text, shares = case
    once = set_traffic(text, "e", "traffic", shares)
    assert set_traffic(once, "e", "traffic", shares) == once
