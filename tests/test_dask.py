"""The same extraction flow on a local Dask cluster of two worker processes (prefect-dask):
what a user with more than one machine runs against a cluster's scheduler address."""

from __future__ import annotations

import json
import shutil

from conftest import GOLD, SEEDS, run_cli


def test_extract_on_a_local_dask_cluster(tmp_path):
    inputs = tmp_path / "seeds"
    shutil.copytree(SEEDS, inputs)
    out = tmp_path / "out"
    code, stdout = run_cli(["extract", str(inputs), "--out", str(out), "--task-runner", "dask",
                            "--workers", "2", "--batch-size", "1"])
    assert code == 0, stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents"]["ok"] == 5 and summary["batches"] == 5
    code, stdout = run_cli(["eval", "--gold", str(GOLD), "--pred", str(out)])
    assert "wrong: 0" in stdout
