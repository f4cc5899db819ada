"""Measure where AFHQ puts a cat's face, for latentcat.framing's constants: the eyes in the mean training photo,
and the cat-face detector's box in every training photo.

    python bench/afhq_placement.py --every 4 --out bench/results

AFHQ aligns each photo on the eyes, so the mean photo shows them as two sharp green-yellow blobs: their
centroids give the eye line's height and the eyes' midpoint. The box the detector draws on the same photos
(level faces only) then says where, inside a box, the eye line lies and how wide a box AFHQ's frame holds.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from latentcat.files import write_json  # noqa: E402
from latentcat.framing import DETECTOR  # noqa: E402
from latentcat.images import list_files  # noqa: E402


def eye_centroids(mean: np.ndarray) -> list[tuple[float, float]]:
    """The two eyes of a mean cat face [H, W, 3]: centroids of the greenest blob in each half of the centre."""
    h, w, _ = mean.shape
    green = ndimage.gaussian_filter(mean[..., 1] - (mean[..., 0] + mean[..., 2]) / 2, w / 128)
    eyes = []
    for x0, x1 in ((w // 4, w // 2), (w // 2, 3 * w // 4)):
        sub = green[h // 3: 3 * h // 4, x0:x1]
        yy, xx = np.nonzero(sub > 0.7 * sub.max())
        weight = sub[yy, xx]
        eyes.append((float((xx * weight).sum() / weight.sum() + x0 + 0.5),
                     float((yy * weight).sum() / weight.sum() + h // 3 + 0.5)))
    return eyes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/afhq-cat/train", help="AFHQ cat training photos")
    parser.add_argument("--every", type=int, default=1, help="run the detector on every N-th photo (the mean "
                                                             "photo always uses them all)")
    parser.add_argument("--out", default="bench/results", help="folder for afhq-placement.json")
    args = parser.parse_args()
    files = [f for f in list_files(args.data) if f.suffix.lower() in (".jpg", ".png")]
    total, boxes = None, []
    for i, path in enumerate(files):
        photo = Image.open(path).convert("RGB")
        arr = np.asarray(photo, dtype=np.float64)
        total = arr if total is None else total + arr
        faces = DETECTOR.detect(photo) if i % args.every == 0 else []
        if faces and abs(faces[0].angle) <= 3:  # a level face (AFHQ levels the eyes)
            boxes.append(np.array(faces[0].box) / photo.size[0])
        if (i + 1) % 500 == 0:
            print(f"{i + 1}/{len(files)} photos, {len(boxes)} level faces found", flush=True)
    size = total.shape[1]
    (lx, ly), (rx, ry) = eye_centroids(total / len(files))
    eye_x, eye_y = (lx + rx) / 2 / size, (ly + ry) / 2 / size
    x, y, w, h = np.array(boxes).T
    result = {
        "command": " ".join(sys.argv), "photos": len(files), "photos_searched": len(range(0, len(files), args.every)),
        "level_faces_found": len(boxes), "detector": DETECTOR.__dict__,
        "eyes": {"left": [lx / size, ly / size], "right": [rx / size, ry / size]},
        "eye_line": eye_y, "eye_x": eye_x,
        "face_width": {"median": float(np.median(w)), "quartiles": np.percentile(w, [25, 75]).tolist()},
        "box_eye_line": {"median": float(np.median((eye_y - y) / h)),
                         "quartiles": np.percentile((eye_y - y) / h, [25, 75]).tolist()},
        "box_eye_x": {"median": float(np.median((eye_x - x - w / 2) / w)),
                      "quartiles": np.percentile((eye_x - x - w / 2) / w, [25, 75]).tolist()},
    }
    write_json(Path(args.out) / "afhq-placement.json", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
