"""``python -m core prepare-eila``: EiLA annotations + videos -> face crops, manifest and audit."""
from __future__ import annotations

import argparse

from ._detectors import DETECTORS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--annotations", required=True, help="EiLA annotations.csv")
    p.add_argument("--demographics", required=True, help="EiLA demographics.csv")
    p.add_argument("--videos", required=True, help="folder with <tag>.mp4 or <tag>/Complete.mp4 per video")
    p.add_argument("--out", required=True, help="output folder (an interrupted run in it is resumed)")
    p.add_argument("--detector", default="mtcnn", choices=list(DETECTORS),
                   help="face detector (default mtcnn: weights ship with the mtcnn package)")
    p.add_argument("--weights", default=None,
                   help="model file: YuNet .onnx for yunet, a YOLO face model .pt (e.g. yolov8n-face.pt) for yolo")
    p.add_argument("--size", type=int, default=48, help="crop side in pixels (default 48)")
    p.add_argument("--color", default="gray", choices=["gray", "rgb"], help="crop colour (default gray)")
    p.add_argument("--threshold", type=float, default=0.6,
                   help="minimum confidence of the kept face (default 0.6, as the seed)")
    p.add_argument("--register", default=None, metavar="NAME",
                   help="also register the result as a dataset under this name")
    p.add_argument("--replace", action="store_true", help="replace the dataset already registered as --register")
    p.add_argument("--artifacts", default=None, help="artifacts folder (default: $FERBIAS_ARTIFACTS or ./artifacts)")
    p.add_argument("--status-file", default=None, help="write progress JSON here (background jobs)")


def run(args: argparse.Namespace) -> int:
    from ..common.progress import progress_for_cli
    from ._audit import retention_table
    from ._pipeline import prepare_eila

    res = prepare_eila(args.annotations, args.demographics, args.videos, args.out, detector=args.detector,
                       weights=args.weights, size=args.size, color=args.color, threshold=args.threshold,
                       progress=progress_for_cli(args.status_file, "prepare-eila"), register_as=args.register,
                       artifacts=args.artifacts, replace_registered=args.replace)
    counts = res.info["stage_counts"]
    print(f"kept {counts['kept']} of {counts['rows']} annotation rows "
          f"(frame read {counts['frame_read']}, face found {counts['face_found']}) -> {res.out}")
    if res.info["reasons"]:
        print("lost: " + ", ".join(f"{k} {v}" for k, v in sorted(res.info["reasons"].items())))
    table = retention_table(res.audit, by="race")
    for rec in table.to_dict("records"):
        print(f"  {rec['race']:>8}: kept {rec['n_reached']}/{rec['n_rows']} = {rec['rate']:.1%} "
              f"(95% CI {rec['ci_low']:.1%}-{rec['ci_high']:.1%})")
    if res.registered is not None:
        print(f"registered {res.registered.name!r} at {res.registered.path}")
    return 0
