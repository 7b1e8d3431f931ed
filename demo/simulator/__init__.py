"""Simulated Automation Anywhere A360 Control Room (A360_API §8).

In-process::

    from demo.simulator import ControlRoomSimulator, generate_state, API_USERNAME, API_PASSWORD
    with ControlRoomSimulator(generate_state(files=20, devices=5, users=5), seed=1, clock="manual",
                              duration_s=10, outcomes={"success": 1}) as sim:
        ...  # AA_URL = sim.url; sim.advance(30); sim.wait_idle(5); sim.callbacks()

Subprocess: ``python -m demo.simulator --generate files=20,devices=5,users=5`` prints
``SIM_URL=...`` first and is driven through ``/__sim/...`` (see ``app.py``).

Time: simulated time is epoch seconds. ``clock="real"`` follows the wall clock (timestamps stay
coherent with the caller's clock); ``clock="manual"`` starts at ``start_time`` (default: the wall
clock at construction, whole seconds) and moves only through ``advance``. ``time_scale`` divides
every *configured* simulated duration (start delay, run length, callback delays and retry
interval, visibility delay, retention, event offsets); token lifetime, latency and holds are
real seconds and are not scaled.

Determinism: every draw comes from ``random.Random(f"{seed}:{purpose}:{key}")`` (deploymentId,
outcome, duration and message keyed by the n-th accepted deploy of a (fileId, userId) pair;
callback faults by that deploy too; faults and latency by the n-th call of a path; tokens by the
n-th login of a user). With a manual clock, the same seed, ``start_time`` and requests give
identical responses, timelines and callbacks in one process (callbacks are delivered serially by
``advance``). DeploymentIds also contain a per-start component (knob ``run_id``, default
``rng.RUN_ID_PROCESO``, drawn once per process): a simulator restarted with the same seed never
hands out the deploymentId of an earlier run, as A360 never does; ``run_id=""`` gives the ids of a
fixed seed alone.
"""

from .generate import API_KEY, API_PASSWORD, API_USER_ID, API_USERNAME, generate_state
from .simulator import ControlRoomSimulator

__all__ = ["API_KEY", "API_PASSWORD", "API_USERNAME", "API_USER_ID", "ControlRoomSimulator", "generate_state"]
