"""Rays sharded over several devices give the single-device results (4 CPU devices, in a subprocess:
``XLA_FLAGS`` must be set before JAX starts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import relu_regions as rr
    from conftest import random_net
    from relu_regions._sharding import exact_intervals_sharded

    assert len(jax.devices()) == 4, jax.devices()
    rng = np.random.default_rng(7)
    params = random_net(rng, [8, 24, 24, 24, 5])
    xs, ds = rng.normal(size=(75, 8)), rng.normal(size=(75, 8)) * 2
    t_min, t_max = -rng.random(75) * 2, rng.random(75) * 3
    out = {}
    for count in (True, False):
        one = rr.exact_intervals(params, xs, ds, t_min, t_max, count_regions=count, batch_size=16)
        for bs in (4, 100):  # several chunks per device (lanes handed over), and one short chunk
            many = exact_intervals_sharded(params, xs, ds, t_min, t_max, count_regions=count, batch_size=bs)
            key = f"count={count} batch={bs}"
            out[key] = {
                "max_diff": float(max(np.abs(one.lo - many.lo).max(), np.abs(one.hi - many.hi).max())),
                "same_ints": bool(all(np.array_equal(getattr(one, f), getattr(many, f))
                                      for f in ("label", "lo_class", "hi_class", "n_regions", "exact"))),
                "n_regions_counted": bool((many.n_regions > 0).all()),
            }
    print(json.dumps(out))
""")


def test_sharded_equals_single_device():
    tests_dir = Path(__file__).resolve().parent
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tests_dir)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == 4
    for key, r in results.items():
        assert r["same_ints"], key
        assert r["max_diff"] <= 1e-12, key
        assert r["n_regions_counted"] == key.startswith("count=True"), key
