"""A step is written with the cyclic collector off, and the collector is back as it was after
it, whether the step ends or fails."""

import gc

import pytest

from compliance.export.runner import _collector_paused


@pytest.fixture
def collector_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_during_a_step_and_on_after_it(collector_enabled):
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_failing_step_turns_the_collector_back_on(collector_enabled):
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("the step failed")
    assert gc.isenabled()


def test_a_process_that_turned_the_collector_off_keeps_it_off(collector_enabled):
    gc.disable()
    with _collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
