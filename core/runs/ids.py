"""The one scheme of run ids (folder names under ``<artifacts>/runs/``).

A run defined by its settings and data gets ``<slug>-<10 hex digits>`` (the
same settings and data give the same id, so a finished run is recognised and
never redone); any other run gets ``<slug>-<YYYYmmdd-HHMMSS>-<6 hex digits>``
(sortable by time, unique).
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any, Mapping

from ..data.registry import slugify


def make_run_id(name: str, settings: Mapping[str, Any] | None = None, data: str = "") -> str:
    """A run id from a name and, when given, the settings and a fingerprint of the data.

    Parameters
    ----------
    name : str
        Readable part of the id (slugified: ``"SFEW + 10% EiLA"`` -> ``"sfew-10-eila"``).
    settings : mapping, optional
        JSON-ready settings. Given: the id is ``<slug>-<10 hex>`` of the SHA-1 of
        ``settings`` (keys sorted) followed by ``data``. Absent: ``<slug>-<date>-<time>-<6 random hex>``.
    data : str
        A fingerprint of the data (e.g. :func:`core.training.runner.data_fingerprint`); only with ``settings``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        ``name`` has no usable characters, ``settings`` is not a mapping, or ``data`` is given without settings.
    """
    slug = slugify(name)
    if settings is None:
        if data:
            raise ValueError("data identifies a run only with its settings; received data without settings")
        return f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    if not isinstance(settings, Mapping):
        raise ValueError(f"settings must be a mapping, received {type(settings).__name__}")
    h = hashlib.sha1(json.dumps(dict(settings), sort_keys=True).encode())
    h.update(str(data).encode())
    return f"{slug}-{h.hexdigest()[:10]}"
