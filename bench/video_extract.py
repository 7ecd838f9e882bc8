"""Frame extraction for EiLA preprocessing: seek-per-row (the seed) vs one sequential pass (this app).

Builds its own test video with OpenCV (no data needed): 1280x720, 25 fps,
MPEG-4 (``mp4v``, the codec OpenCV's writer provides). OpenCV's FFmpeg writer
always puts a key frame every 12 frames, far denser than the YouTube H.264
files EiLA comes from (key frames every 2-5 s; x264's default is 250 frames),
and key-frame spacing is what makes a seek expensive (it decodes from the
previous key frame). So the packets of that file are also re-muxed, unchanged,
with OpenCV's own raw-video writer (``VIDEOWRITER_PROP_RAW_VIDEO``) flagging a
key frame every ``--key-interval`` frames (default 120, a multiple of 12 so
every flagged frame really is an intra frame): the decoded frames are
identical, but seeking must decode from the last flagged key frame, as in a
long-GOP file. Both files are timed and reported; ``ratio=`` is the one with
the realistic key-frame interval.
The annotation pattern copies EiLA's: clips in which every 6th frame is
annotated with 1 or 2 persons (1.8 rows per annotated frame on average, as in
the real annotations.csv), clips separated by long unannotated stretches.

Both strategies produce the person-box crop of every row:

- seek-per-row: :func:`core.preprocess.read_frame_seek` for each row (open the
  video, seek to the frame, read, close), as the seed did;
- sequential: :func:`core.preprocess.iter_annotated_frames` (each video once,
  in frame order, decoding only up to annotated frames, seeking once over long gaps).

Every crop must be byte-identical between the two, and every frame must carry
the frame number stamped into it when the video was written (so both read the
right frame, not the same wrong one). The last line printed is
``ratio=<seek-per-row time / sequential time>``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.preprocess import iter_annotated_frames, person_box_pixels, read_frame_seek  # noqa: E402
from core.preprocess._video import crop_box  # noqa: E402

W, H = 1280, 720
BITS = 16
NATIVE_GOP = 12  # OpenCV's FFmpeg writer: gop_size = 12, not configurable
CELL = 24  # stamp cell size in pixels (robust to compression)


def stamp(img: np.ndarray, n: int) -> None:
    """Write ``n`` as BITS black/white cells along the top-left edge."""
    for b in range(BITS):
        v = 255 if (n >> b) & 1 else 0
        img[0:CELL, b * CELL:(b + 1) * CELL] = v


def read_stamp(img: np.ndarray) -> int:
    cells = [img[CELL // 4:3 * CELL // 4, b * CELL + CELL // 4:(b + 1) * CELL - CELL // 4].mean() for b in range(BITS)]
    return sum(1 << b for b, m in enumerate(cells) if m > 127)


def build_plan(clips: int, frames_per_clip: int, gap: int, rng: np.random.Generator) -> tuple[list[dict], int]:
    """Annotation rows (frame, person box in percent) and the video length."""
    rows, start = [], 30
    for _ in range(clips):
        for i in range(frames_per_clip):
            f = start + 6 * i
            persons = 2 if rng.random() < 0.8 else 1
            for p in range(persons):
                x = 5 + 48 * p + rng.uniform(-3, 3)
                rows.append({"frame": f, "x": x, "y": rng.uniform(2, 10), "width": 40.0, "height": 85.0})
        start += 6 * frames_per_clip + gap
    return rows, start


def write_video(path: Path, n_frames: int, rng: np.random.Generator) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (W, H))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: OpenCV cannot write mp4v video here")
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([xx / W * 180 + 30, yy / H * 150 + 40, (xx + yy) / (W + H) * 120 + 60], axis=2)
    texture = rng.normal(0, 12, size=(H // 4, W // 4, 3)).repeat(4, 0).repeat(4, 1).astype(np.float32)
    for i in range(n_frames):
        img = np.clip(base + np.roll(texture, 2 * i, axis=1), 0, 255).astype(np.uint8)
        for p, cx in enumerate((0.25, 0.73)):  # two moving "persons" with a head
            x = int(W * cx + 40 * np.sin(i / 25 + p))
            cv2.ellipse(img, (x, int(H * 0.62)), (150, 260), 0, 0, 360, (60 + 40 * p, 70, 90), -1)
            cv2.circle(img, (x, int(H * 0.3)), 90, (120, 150 + 30 * p, 190), -1)
            cv2.circle(img, (x - 30, int(H * 0.27)), 12, (30, 30, 30), -1)
            cv2.circle(img, (x + 30, int(H * 0.27)), 12, (30, 30, 30), -1)
        stamp(img, i)
        writer.write(img)
    writer.release()


def crops_seek(path: Path, rows: list[dict]) -> tuple[list[bytes], list[int]]:
    out, stamps = [], []
    for r in rows:
        img = read_frame_seek(path, r["frame"])
        box, _ = person_box_pixels(r["x"], r["y"], r["width"], r["height"], img.shape[1], img.shape[0])
        out.append(crop_box(img, box).tobytes())
        stamps.append(read_stamp(img))
    return out, stamps


def crops_sequential(path: Path, rows: list[dict]) -> tuple[list[bytes], list[int]]:
    by_frame: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_frame.setdefault(r["frame"], []).append(i)
    out: list[bytes] = [b""] * len(rows)
    stamps = [-1] * len(rows)
    for fr in iter_annotated_frames(path, by_frame):
        img = fr.image
        for i in by_frame[fr.frame]:
            r = rows[i]
            box, _ = person_box_pixels(r["x"], r["y"], r["width"], r["height"], img.shape[1], img.shape[0])
            out[i] = crop_box(img, box).tobytes()
            stamps[i] = read_stamp(img)
    return out, stamps


def remux_key_interval(src: Path, dst: Path, key_interval: int) -> None:
    """Copy the packets of ``src`` unchanged into ``dst``, flagging a key frame every ``key_interval`` frames."""
    if key_interval % NATIVE_GOP:
        raise ValueError(f"--key-interval must be a multiple of {NATIVE_GOP} (OpenCV's intra-frame period), "
                         f"received {key_interval}")
    cap = cv2.VideoCapture(str(src), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    extra_idx = int(cap.get(cv2.CAP_PROP_CODEC_EXTRADATA_INDEX))
    writer = cv2.VideoWriter(str(dst), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), 25, (W, H),
                             [cv2.VIDEOWRITER_PROP_RAW_VIDEO, 1, cv2.VIDEOWRITER_PROP_KEY_INTERVAL, key_interval])
    first = True
    while cap.grab():
        _, pkt = cap.retrieve()
        if first:  # the decoder configuration (VOL header) travels in-band in front of the first packet
            _, extra = cap.retrieve(flag=extra_idx)
            pkt = np.concatenate([extra.reshape(-1), pkt.reshape(-1)])
            first = False
        writer.write(pkt.reshape(1, -1))
    writer.release()
    cap.release()


def measure(path: Path, rows: list[dict], repeat: int) -> dict:
    t_seek = t_seq = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        seek, seek_stamps = crops_seek(path, rows)
        t_seek = min(t_seek, time.perf_counter() - t0)
        t0 = time.perf_counter()
        seq, seq_stamps = crops_sequential(path, rows)
        t_seq = min(t_seq, time.perf_counter() - t0)
    frames = [r["frame"] for r in rows]
    return {"seek": t_seek, "seq": t_seq, "identical": len(seek) == len(seq) == len(rows) and seek == seq,
            "seq_right": seq_stamps == frames, "seek_right": seek_stamps == frames}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--frames-per-clip", type=int, default=40, help="annotated frames per clip (every 6th frame)")
    ap.add_argument("--gap", type=int, default=320, help="unannotated frames between clips (> the 300-frame seek gap)")
    ap.add_argument("--key-interval", type=int, default=120,
                    help="key-frame interval of the realistic copy (multiple of 12; default 120)")
    ap.add_argument("--repeat", type=int, default=1, help="timings are the best of this many runs")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    rows, n_frames = build_plan(args.clips, args.frames_per_clip, args.gap, rng)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        native, long_gop = Path(tmp) / "native.mp4", Path(tmp) / "long_gop.mp4"
        t0 = time.perf_counter()
        write_video(native, n_frames, rng)
        remux_key_interval(native, long_gop, args.key_interval)
        print(f"video: {n_frames} frames 1280x720 mp4v written in {time.perf_counter() - t0:.1f}s; "
              f"{len(rows)} annotation rows on {len({r['frame'] for r in rows})} frames")
        for label, path in ((f"key frame every {NATIVE_GOP} (OpenCV's writer)", native),
                            (f"key frame every {args.key_interval} (YouTube-like)", long_gop)):
            r = results[label] = measure(path, rows, args.repeat)
            print(f"{label}: seek-per-row {r['seek']:.2f}s ({1000 * r['seek'] / len(rows):.1f} ms/row), "
                  f"sequential {r['seq']:.2f}s ({1000 * r['seq'] / len(rows):.1f} ms/row), "
                  f"ratio {r['seek'] / r['seq']:.2f}; crops byte-identical: {r['identical']}; right frames: "
                  f"sequential {r['seq_right']}, seek {r['seek_right']}")
    bad = [k for k, r in results.items() if not (r["identical"] and r["seq_right"])]
    if bad:
        print(f"ERROR: the two strategies disagree on {bad}", file=sys.stderr)
        print("ratio=nan")
        return 1
    final = results[label]
    print(f"ratio={final['seek'] / final['seq']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
