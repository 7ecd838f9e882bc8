"""core.attributes: skin tone (ITA, tertiles), age and pose bins, intersections, attribute discovery."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.attributes import pose_groups, resolve_attribute


def test_missing_group_labels_are_none_in_an_object_series() -> None:
    # Series.map infers pandas' string dtype (pandas >= 3), in which None becomes NaN; the documented contract
    # is text labels with None for missing, dtype object
    df = pd.DataFrame({"race": ["White", None, "Black"], "skin_color": ["#ffffff", None, "#000000"],
                       "side_profile": [True, None, False], "yaw": np.nan})
    for attribute in ("race", "skin_tone", "race x skin_tone"):
        s = resolve_attribute(df, attribute)
        assert s.dtype == object and s[1] is None
    flag, _ = pose_groups(df)
    assert flag.dtype == object and flag.tolist() == ["side profile", None, "frontal"]
