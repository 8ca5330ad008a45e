"""The overlap warning shows where the user looks (just above Save, "Save anyway" and the free
slots next to it), and taking a free slot says so there instead of closing everything."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.helpers import open_more_details
from tests.test_pages_planning import World, local


def keys_in_order(at) -> list[str]:
    return [b.key for b in at.button]


def test_a_next_step_overlap_shows_above_save_and_a_free_slot_taken_is_confirmed_there(app_env: Path) -> None:
    world = World(app_env)
    world.plan(world.sam, local(1, "10:00"))  # Sam is busy at 10:00 tomorrow
    at = world.app(world.sam)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(world.client).run()
    at.selectbox(key=f"log_thread_0_{world.client}").set_value(world.thread).run()
    open_more_details(at)
    at.toggle(key="log_plan_0").set_value(True).run()
    at.date_input(key="log_next_day_0").set_value(local(1, "00:00").date())
    at.time_input(key="log_next_time_0").set_value(dt.time(10, 15))
    at.number_input(key="log_next_duration_0").set_value(30)
    at.button(key="log_save_0").click().run()
    assert [e.value for e in at.exception] == []
    assert at.warning, "the overlap is warned about"
    order = keys_in_order(at)
    assert order.index("log_problem_0_accept") < order.index("log_save_0")
    assert order.index("log_problem_0_slot_0") < order.index("log_save_0")
    at.button(key="log_problem_0_slot_0").click().run()
    moved = [s.value for s in at.success if "Moved to the free slot" in s.value]
    assert len(moved) == 1
    assert at.time_input(key="log_next_time_0").value != dt.time(10, 15)
    assert at.expander[0].proto.expanded  # "More details" stays open with the changed fields


def test_the_plan_form_confirms_a_free_slot_taken_above_its_save_button(app_env: Path) -> None:
    world = World(app_env)
    world.plan(world.anna, local(1, "10:00"), resource_ids=(world.room,))
    at = world.app(world.sam)
    at.switch_page("pages/resources.py").run()
    at.selectbox(key="resources_plan_client_0").set_value(world.client).run()
    at.selectbox(key=f"resources_plan_thread_0_{world.client}").set_value(world.thread).run()
    at.date_input(key="resources_plan_day_0").set_value(local(1, "00:00").date())
    at.time_input(key="resources_plan_time_0").set_value(dt.time(10, 30))
    at.multiselect(key="resources_plan_resources_0").set_value([world.room]).run()
    at.button(key="resources_plan_save_0").click().run()
    order = keys_in_order(at)
    assert order.index("resources_plan_problem_0_slot_0") < order.index("resources_plan_save_0")
    at.button(key="resources_plan_problem_0_slot_0").click().run()
    assert any("Moved to the free slot" in s.value for s in at.success)
