from pathlib import Path
import pandas as pd, pytest
from core.preprocess import prepare_eila
from core.preprocess._pipeline import PrepareConfig
from tests.preprocess_video_fixture import eila_video  # noqa

class Killed(BaseException):
    pass

def _kill_at(monkeypatch, k):
    import core.preprocess._runner as R
    real, n = R.atomic_write_parquet, {"c": 0}
    def dying(df, path):
        n["c"] += 1
        if n["c"] > k:
            raise Killed()
        real(df, path)
        if n["c"] == k:
            raise Killed()
    monkeypatch.setattr(R, "atomic_write_parquet", dying)

def _snapshot(out):
    rows = pd.read_parquet(out / "rows.parquet").drop(columns=["crop_path", "detail"])
    crops = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.jpg")}
    return rows, crops

@pytest.mark.parametrize('k', [1,2,4,5,6,7])
def test_probe(eila_video, tmp_path, monkeypatch, k):
    cfg = PrepareConfig(detector="mtcnn", batch_size=2)
    a = (eila_video.annotations, eila_video.demographics, eila_video.videos)
    prepare_eila(*a, tmp_path / "fresh", config=cfg, n_boot=20)
    fr, fc = _snapshot(tmp_path / "fresh")
    out = tmp_path / "resumed"
    for k in (k,):
        with monkeypatch.context() as m:
            _kill_at(m, k)
            with pytest.raises(Killed):
                prepare_eila(*a, out, config=cfg, n_boot=20, flush_every_s=0)
    prepare_eila(*a, out, config=cfg, n_boot=20)
    rr, rc = _snapshot(out)
    pd.testing.assert_frame_equal(fr, rr)
    assert fc.keys() == rc.keys()
    assert [k for k in fc if fc[k] != rc[k]] == []
