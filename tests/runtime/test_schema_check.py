"""schema_check: the output_type validator."""

from __future__ import annotations

from agentcli.runtime.schema_check import validate

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1, "maxLength": 20},
        "temperature_c": {"type": "number", "minimum": -90, "maximum": 60},
        "conditions": {"enum": ["sunny", "rain", "snow"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        "note": {"type": ["string", "null"]},
    },
    "required": ["city", "temperature_c"],
    "additionalProperties": False,
}


def test_valid_object_has_no_problems() -> None:
    value = {"city": "Paris", "temperature_c": 21.5, "conditions": "sunny", "tags": ["a"], "note": None}
    assert validate(value, WEATHER) == []


def test_wrong_type_is_named_with_its_path() -> None:
    assert validate({"city": "Paris", "temperature_c": "warm"}, WEATHER) == [
        "$.temperature_c: expected number, got string"
    ]


def test_missing_required_and_extra_property() -> None:
    problems = validate({"temperature_c": 3, "wind": 5}, WEATHER)
    assert "$.city: required but missing" in problems
    assert "$.wind: not allowed (additionalProperties is false)" in problems


def test_bounds_lengths_and_items() -> None:
    value = {"city": "", "temperature_c": 99, "tags": [1, "b", "c"]}
    problems = validate(value, WEATHER)
    assert "$.city: shorter than 1 characters" in problems
    assert "$.temperature_c: 99 is more than the maximum 60" in problems
    assert "$.tags: more than 2 items" in problems
    assert "$.tags[0]: expected string, got integer" in problems


def test_enum_const_and_null_union() -> None:
    assert validate("hail", {"enum": ["sunny", "rain"]}) == ['$: "hail" is not one of "sunny", "rain"']
    assert validate(2, {"const": 1}) == ["$: expected 1, got 2"]
    assert validate(None, {"type": ["string", "null"]}) == []
    assert validate(3, {"type": ["string", "null"]}) == ["$: expected string or null, got integer"]


def test_bool_is_not_a_number_and_integral_float_is_an_integer() -> None:
    assert validate(True, {"type": "number"}) == ["$: expected number, got boolean"]
    assert validate(3.0, {"type": "integer"}) == []
    assert validate(3.5, {"type": "integer"}) == ["$: expected integer, got number"]


def test_any_of_and_one_of() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]}
    assert validate("x", schema) == []
    assert validate(-1, schema) == ["$: matches none of anyOf ($: -1 is less than the minimum 0)"]
    one = {"oneOf": [{"type": "number"}, {"type": "integer"}]}
    assert validate(1.5, one) == []
    assert validate(2, one) == ["$: matches 2 of oneOf, expected exactly one"]


def test_additional_properties_schema_and_nested_path() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "additionalProperties": {"type": "integer"}}},
    }
    assert validate({"a": {"x": 1, "y": "no"}}, schema) == ["$.a.y: expected integer, got string"]


def test_pattern_violations_are_caught() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
    assert validate({"code": "ABC"}, schema) == []
    assert validate({"code": "abcd"}, schema) == ['$.code: "abcd" does not match the pattern ^[A-Z]{3}$']


def test_refs_are_followed() -> None:
    schema = {
        "$defs": {"city": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
        "type": "object",
        "properties": {"cities": {"type": "array", "items": {"$ref": "#/$defs/city"}}},
    }
    assert validate({"cities": [{"name": "Oslo"}]}, schema) == []
    assert validate({"cities": [{"name": 3}, {}]}, schema) == [
        "$.cities[0].name: expected string, got integer",
        "$.cities[1].name: required but missing",
    ]


def test_formats_are_asserted() -> None:
    schema = {"type": "string", "format": "email"}
    assert validate("a@example.org", schema) == []
    assert validate("not an email", schema) == ['$: "not an email" is not a valid email']
    assert validate("2024-02-30", {"format": "date"}) == ['$: "2024-02-30" is not a valid date']


def test_a_broken_schema_is_a_problem_not_a_crash() -> None:
    assert validate(1, {"type": "nonsense"})[0].startswith("the schema itself is invalid")
    assert validate(1, {"$ref": "#/$defs/missing"})[0].startswith("the schema cannot be used")
