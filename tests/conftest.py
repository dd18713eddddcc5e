import os
import tempfile

from hypothesis import HealthCheck, settings

# Two profiles. "ci" (the default) is derandomised: every run checks the same examples, so
# a failure in CI is reproducible and a pass is not luck. "thorough" (HYPOTHESIS_PROFILE=
# thorough) draws fresh random examples, many more of them, for hunting edge cases (with
# the strategies of tests/strategies.py that reach 1e-320 .. 1e308). A test that sets its
# own @settings(max_examples=...) keeps that count under both; to scale it with the
# profile, write max_examples=examples(n) (tests/strategies.py).
settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", derandomize=False, max_examples=2000, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Compiled graphs of torch.compile are cached per test session: a cache kept across sessions
# could hand back a graph compiled against an older version of isotree's operators.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="isotree-inductor-"))
