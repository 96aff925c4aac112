"""StateAdapterService and State: adapting caller values, reading inputs, making new states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from agentmap import StateError
from agentmap.state import State, StateAdapterService


class Order(BaseModel):
    order_id: int
    customer: str


class Ticket:
    def __init__(self) -> None:
        self.title = "printer on fire"
        self.priority = 1

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "priority": self.priority, "source": "to_dict"}


@dataclass
class Point:
    x: int
    y: int


class Plain:
    def __init__(self) -> None:
        self.user = "ada"
        self.count = 3
        self._secret = "hidden"


@pytest.fixture
def adapter() -> StateAdapterService:
    return StateAdapterService()


# --- initial_state -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"input": "hi", "n": 2}, {"input": "hi", "n": 2}, id="dict"),
        pytest.param(
            Order(order_id=7, customer="Ada"),
            {"order_id": 7, "customer": "Ada"},
            id="pydantic-model",
        ),
        pytest.param(
            Ticket(),
            {"title": "printer on fire", "priority": 1, "source": "to_dict"},
            id="object-with-to_dict",
        ),
        pytest.param(Point(1, 2), {"x": 1, "y": 2}, id="dataclass"),
        pytest.param(Plain(), {"user": "ada", "count": 3}, id="plain-object-public-attributes"),
        pytest.param("hello", {"input": "hello"}, id="bare-str"),
        pytest.param(42, {"input": 42}, id="bare-int"),
        pytest.param([1, 2, 3], {"input": [1, 2, 3]}, id="bare-list"),
        pytest.param(None, {}, id="none-is-empty"),
    ],
)
def test_initial_state_adapts_caller_value(
    adapter: StateAdapterService, value: Any, expected: dict[str, Any]
) -> None:
    state = adapter.initial_state(value)
    assert isinstance(state, State)
    assert dict(state) == expected


def test_initial_state_keeps_the_dict_key_order(adapter: StateAdapterService) -> None:
    state = adapter.initial_state({"z": 1, "a": 2, "m": 3})
    assert list(state) == ["z", "a", "m"]


def test_initial_state_does_not_share_the_callers_dict(adapter: StateAdapterService) -> None:
    given = {"input": "hi"}
    state = adapter.initial_state(given)
    given["input"] = "changed"
    given["extra"] = 1
    assert dict(state) == {"input": "hi"}


@pytest.mark.parametrize("bad_key", [1, ("a", "b"), None])
def test_non_text_state_key_is_a_state_error(adapter: StateAdapterService, bad_key: Any) -> None:
    with pytest.raises(StateError) as caught:
        adapter.initial_state({"ok": 1, bad_key: 2})
    assert repr(bad_key) in str(caught.value)


def test_to_dict_that_returns_no_mapping_is_a_state_error(adapter: StateAdapterService) -> None:
    class Weird:
        def to_dict(self) -> list[int]:
            return [1, 2]

    with pytest.raises(StateError, match=r"Weird\.to_dict\(\)"):
        adapter.initial_state(Weird())


# --- State ---------------------------------------------------------------------------------


def test_state_rejects_item_assignment() -> None:
    state = State({"a": 1})
    with pytest.raises(TypeError):
        state["a"] = 2  # type: ignore[index]
    assert dict(state) == {"a": 1}


def test_state_rejects_item_deletion() -> None:
    state = State({"a": 1})
    with pytest.raises(TypeError):
        del state["a"]  # type: ignore[attr-defined]
    assert dict(state) == {"a": 1}


def test_state_has_no_mutating_methods() -> None:
    state = State({"a": 1})
    for method in ("update", "pop", "popitem", "clear", "setdefault"):
        assert not hasattr(state, method), method


def test_set_returns_a_new_state_and_leaves_the_old_one_unchanged() -> None:
    first = State({"input": "hi"})
    second = first.set("echoed", "hi")
    third = second.set("input", "bye")
    assert dict(first) == {"input": "hi"}
    assert dict(second) == {"input": "hi", "echoed": "hi"}
    assert dict(third) == {"input": "bye", "echoed": "hi"}
    assert first is not second and second is not third


def test_key_order_is_first_write_order() -> None:
    state = State({"b": 1}).set("a", 2).set("c", 3).set("b", 10).set("a", 20)
    assert list(state) == ["b", "a", "c"]
    assert list(state.items()) == [("b", 10), ("a", 20), ("c", 3)]


def test_state_is_a_read_only_mapping() -> None:
    state = State({"a": 1, "b": None})
    assert state["a"] == 1
    assert state.get("missing") is None
    assert state.get("missing", "dflt") == "dflt"
    assert state.get("b", "dflt") is None
    assert "b" in state and "zz" not in state
    assert len(state) == 2
    with pytest.raises(KeyError):
        state["missing"]


def test_state_compares_equal_to_a_dict_with_the_same_items() -> None:
    assert State({"a": 1}).set("b", 2) == {"a": 1, "b": 2}


# --- inputs --------------------------------------------------------------------------------


def test_inputs_map_state_keys_to_parameter_names(adapter: StateAdapterService) -> None:
    state = State({"user": "ada", "text": "hi", "other": 1})
    inputs = adapter.inputs(state, (("user", "name"), ("text", "text")), "Greet")
    assert inputs == {"name": "ada", "text": "hi"}


def test_inputs_give_none_for_absent_keys(adapter: StateAdapterService) -> None:
    inputs = adapter.inputs(State({"a": 1}), (("a", "a"), ("missing", "m")), "N")
    assert inputs == {"a": 1, "m": None}


def test_inputs_are_a_fresh_dict_each_time(adapter: StateAdapterService) -> None:
    state = State({"a": 1})
    first = adapter.inputs(state, (("a", "a"),), "N")
    first["a"] = 99
    assert adapter.inputs(state, (("a", "a"),), "N") == {"a": 1}
    assert dict(state) == {"a": 1}


def test_inputs_with_no_fields_are_empty(adapter: StateAdapterService) -> None:
    assert adapter.inputs(State({"a": 1}), (), "N") == {}


# --- updated -------------------------------------------------------------------------------


def test_updated_on_success_writes_outputs_and_last_action_success(
    adapter: StateAdapterService,
) -> None:
    before = State({"input": "hi"})
    after = adapter.updated(before, {"echoed": "hi"}, True, None)
    assert dict(after) == {"input": "hi", "echoed": "hi", "last_action_success": True}
    assert dict(before) == {"input": "hi"}


def test_updated_on_failure_writes_the_error(adapter: StateAdapterService) -> None:
    after = adapter.updated(State({"input": "hi"}), {}, False, "boom")
    assert dict(after) == {"input": "hi", "last_action_success": False, "error": "boom"}


def test_updated_on_success_does_not_write_an_error(adapter: StateAdapterService) -> None:
    after = adapter.updated(State({}), {"x": 1}, True, None)
    assert "error" not in after


def test_updated_on_success_keeps_an_earlier_error(adapter: StateAdapterService) -> None:
    failed = adapter.updated(State({}), {}, False, "first problem")
    recovered = adapter.updated(failed, {"fixed": True}, True, None)
    assert dict(recovered) == {
        "last_action_success": True,
        "error": "first problem",
        "fixed": True,
    }


def test_updated_success_after_failure_sets_last_action_success_true(
    adapter: StateAdapterService,
) -> None:
    failed = adapter.updated(State({}), {}, False, "boom")
    recovered = adapter.updated(failed, {}, True, None)
    assert failed["last_action_success"] is False
    assert recovered["last_action_success"] is True


def test_updated_later_failure_replaces_the_error(adapter: StateAdapterService) -> None:
    first = adapter.updated(State({}), {}, False, "first")
    second = adapter.updated(first, {}, False, "second")
    assert second["error"] == "second"
    assert first["error"] == "first"


def test_to_dict_is_a_plain_dict_in_key_order(adapter: StateAdapterService) -> None:
    state = State({"b": 1}).set("a", 2)
    result = adapter.to_dict(state)
    assert type(result) is dict
    assert list(result.items()) == [("b", 1), ("a", 2)]


def test_the_adapter_reads_and_updates_a_plain_dict_as_a_state() -> None:
    adapter = StateAdapterService()
    assert adapter.inputs({"input": "hi"}, (("input", "text"),), "Echo") == {"text": "hi"}
    after = adapter.updated({"input": "hi"}, {"echoed": "hi"}, True, None)
    assert dict(after) == {"input": "hi", "echoed": "hi", "last_action_success": True}
