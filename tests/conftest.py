import os

from hypothesis import HealthCheck, settings

# Deterministic by default (same examples every run); HYPOTHESIS_PROFILE=thorough explores.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
