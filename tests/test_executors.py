"""Executors without a cluster: address checks, clear errors, seeds, and the default path never importing Ray."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from core.runs.executors import ADDRESS_ENV, LocalExecutor, RayExecutor, check_address, make_executor
from core.mixing import MixSpec
from core.training import TrainConfig
from core.training.sweep import plan_sweep, seed_configs

REPO = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.mark.parametrize("address", ["auto", "local", "127.0.0.1:6379", "head.example.org:10001"])
def test_addresses_accepted(address: str) -> None:
    assert check_address(address) == address


@pytest.mark.parametrize("address", ["", "6379", "host:", ":6379", "host:port", "host:70000", "ray://host:10001"])
def test_bad_addresses_say_what_was_expected(address: str) -> None:
    with pytest.raises(ValueError, match="received"):
        check_address(address)


def test_make_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_executor(), LocalExecutor)
    monkeypatch.setenv(ADDRESS_ENV, "127.0.0.1:7000")
    assert make_executor("ray").address == "127.0.0.1:7000"  # the environment's default address
    assert make_executor("ray", "auto").address == "auto"
    with pytest.raises(ValueError, match="needs --executor ray"):
        make_executor("local", "auto")
    with pytest.raises(ValueError, match="executor must be one of"):
        make_executor("dask")


def test_local_executor_runs_in_order() -> None:
    with LocalExecutor() as ex:
        assert list(ex.map(lambda a, b: a * b, [(1, 2), (3, 4)])) == [(0, 2), (1, 12)]


def test_no_cluster_at_address_says_how_to_start_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    port = _closed_port()
    with pytest.raises(ConnectionError, match=f"no Ray cluster at 127.0.0.1:{port}.*ray start --head"):
        RayExecutor(f"127.0.0.1:{port}").start()
    art = tmp_path / "artifacts"
    assert main(["demo", "--artifacts", str(art), "--n-persons", "Light=3", "Medium=3", "Dark=3",
                 "--images-per-person", "7"]) == 0
    capsys.readouterr()
    rc = main(["sweep", "--mix", "Synthetic demo", "--eval-dataset", "Synthetic demo", "--weights", "random",
               "--executor", "ray", "--address", f"127.0.0.1:{port}", "--artifacts", str(art)])
    err = capsys.readouterr().err
    assert rc == 2 and f"error: no Ray cluster at 127.0.0.1:{port}" in err and "ray start --head" in err
    assert not any((art / "runs").glob("*"))  # nothing trained


def test_seeds_give_one_run_per_configuration_and_seed() -> None:
    cfg = TrainConfig(weights="random", seed=4)
    assert [c.seed for c in seed_configs(cfg, 3)] == [4, 5, 6]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="seeds must be a positive integer"):
            seed_configs(cfg, bad)
    rows = [{"sample_id": f"{s}{i}", "path": f"/x/{s}{i}.png", "dataset": "D", "split": s, "label": "happy"}
            for s in ("train", "validation") for i in range(3)]
    evaluation = pd.DataFrame([{**rows[0], "sample_id": "t", "path": "/x/t.png", "split": "test"}])
    items = plan_sweep([MixSpec("D only", "D")], {"D": pd.DataFrame(rows)}, evaluation, cfg, seeds=3)
    assert [it.cfg.seed for it in items] == [4, 5, 6]
    assert len({it.run_id for it in items}) == 3 and all(it.run_id.startswith("d-only-") for it in items)


def test_default_path_never_imports_ray() -> None:
    code = ("import sys\nfrom core.cli import main\ntry:\n    main(['sweep', '--help'])\nexcept SystemExit:\n"
            "    pass\nprint('RAY-IMPORTED' if 'ray' in sys.modules else 'NO-RAY')")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "NO-RAY" and "--executor" in out.stdout
