"""Scenario specification: what the user wants to run, and under which constraints."""

from aidc.spec.load import load_default_scenario, load_scenario, scenario_from_data
from aidc.spec.scenario import InferenceService, Scenario, TrainingWorkload

__all__ = [
    "InferenceService",
    "Scenario",
    "TrainingWorkload",
    "load_default_scenario",
    "load_scenario",
    "scenario_from_data",
]
