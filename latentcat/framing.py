"""Framing a cat photo the way the generators were trained: find the cat's face and crop, rotate and scale the
photo so the face sits where AFHQ faces sit (eye line level, at AFHQ's height, the face as wide), padding by
reflection where the frame leaves the photo; and the way back, pasting a rendered frame into the full photo.

A frame is a square in the photo (a `Crop`: its box before rotation, and the angle it is turned by about its
centre) mapped onto the generator's R x R pixels. Coordinates are continuous: pixel (i, j) covers
[i, i + 1] x [j, j + 1], so a whole photo of W x H spans [0, W] x [0, H].
"""
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from latentcat.errors import UserError
from latentcat.images import open_rgb, square_rgb, to_pil

# Where AFHQ puts a cat's face, measured on the 4,753 photos of afhq-cat/train (256 px) by
# bench/afhq_placement.py with an earlier setting of the detector (3 neighbours, every photo). Its rerun with
# today's `Detector` on every 8th photo (bench/results/afhq-placement.json) agrees within 2%: eye line 0.517,
# face width 0.620, eye line in the box 0.409, eyes' midpoint 0.005 right of the box centre.
# - the eyes, found as the two green-yellow blobs of the mean photo, sit at x = 0.356 and 0.641 of the width
#   and y = 0.516 of the height: AFHQ levels the eyes and centres them;
# - the frontal cat-face cascade's box (as `Detector.detect` finds it) has a median width of 0.633 of the frame,
#   and the eye line lies 0.414 of the box's height below its top, the eyes' midpoint 0.010 of its width right
#   of its centre.
AFHQ_EYE_LINE = 0.516     # eye line height, as a share of the frame from the top
AFHQ_EYE_X = 0.499        # the eyes' midpoint, as a share of the frame from the left
AFHQ_FACE_WIDTH = 0.633   # the face box's width, as a share of the frame
BOX_EYE_LINE = 0.414      # the eye line in the face box, as a share of its height from the top
BOX_EYE_X = 0.010         # the eyes' midpoint right of the box centre, as a share of its width


@dataclass(frozen=True)
class Crop:
    """A square of the photo (left, top, right, bottom; before turning) turned by `angle` degrees about its
    centre (clockwise on screen), framed at `resolution` px. `face` is the face box it came from (x, y, w, h,
    turned by `angle` about its own centre), None for a centre crop."""
    box: tuple[float, float, float, float]
    angle: float
    resolution: int
    photo_size: tuple[int, int]
    face: tuple[float, float, float, float] | None = None
    faces_found: int = 0

    @staticmethod
    def around(centre, side: float, angle: float, resolution: int, photo_size, **face) -> "Crop":
        """The square of `side` photo pixels centred on `centre`, turned by `angle`."""
        cx, cy = (float(v) for v in centre)
        return Crop((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), float(angle), resolution,
                    tuple(photo_size), **face)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2

    @property
    def side(self) -> float:
        return self.box[2] - self.box[0]

    def as_dict(self) -> dict:
        """What summary.json records (scale: frame pixels per photo pixel)."""
        return {"framed": "face" if self.face else "centre", "box": list(self.box), "angle": self.angle,
                "scale": self.resolution / self.side, "resolution": self.resolution,
                "photo_size": list(self.photo_size), "face_box": list(self.face) if self.face else None,
                "faces_found": self.faces_found}

    @staticmethod
    def from_dict(d: dict) -> "Crop":
        return Crop(box=tuple(d["box"]), angle=d["angle"], resolution=d["resolution"],
                    photo_size=tuple(d["photo_size"]), face=tuple(d["face_box"]) if d["face_box"] else None,
                    faces_found=d["faces_found"])


def _turn(angle: float) -> np.ndarray:
    """The 2x2 rotation that turns the frame's axes by `angle` degrees clockwise on screen (y points down)."""
    a = math.radians(angle)
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def frame_to_photo(crop: Crop, size: int) -> np.ndarray:
    """The 2x3 affine map from a size x size frame's pixel centres to photo pixel coordinates (OpenCV's
    convention: pixel centres at integers)."""
    k = crop.side / size
    turn = k * _turn(crop.angle)
    offset = np.asarray(crop.centre) - 0.5 + turn @ np.full(2, 0.5 - size / 2)
    return np.hstack([turn, offset[:, None]])


def centre_crop(photo_size: tuple[int, int], resolution: int) -> Crop:
    """The largest centred square, on whole pixels (as `images.center_crop_square` cuts it)."""
    w, h = photo_size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return Crop((left, top, left + side, top + side), 0.0, resolution, photo_size)


MAX_WARP = 1024  # frames larger than this many photo pixels are cut from a photo shrunk by a whole factor first
FADE = 0.25      # the padding fades to the photo's median colour over this share of the frame's side


def frame(photo: Image.Image, crop: Crop) -> Image.Image:
    """Cut `crop` out of an RGB photo as a crop.resolution square. Where the frame leaves the photo it is padded
    as NVlabs pad FFHQ: by reflection, blurred, fading to the photo's median colour away from its edge (a bare
    reflection of a close-up would mirror the eyes into the forehead). The photo is warped at about its own
    scale, then resized with Lanczos (no aliasing when shrinking); pixels inside the photo are never blurred."""
    factor = max(1, int(crop.side // MAX_WARP))
    if factor > 1:
        photo = photo.reduce(factor)
        crop = Crop(tuple(v / factor for v in crop.box), crop.angle, crop.resolution, photo.size)
    size = max(1, round(crop.side))
    m = frame_to_photo(crop, size)
    out = cv2.warpAffine(np.asarray(photo), m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REFLECT_101)
    yy, xx = np.mgrid[0:size, 0:size]
    px, py = (m[:, :2] @ np.stack([xx.ravel(), yy.ravel()]) + m[:, 2:]).reshape(2, size, size) + 0.5
    w, h = photo.size
    outside = np.maximum.reduce([-px, px - w, -py, py - h, np.zeros_like(px)]) / crop.side  # in frame sides
    if outside.max() > 0:
        fade = np.clip(outside / FADE, 0, 1)[..., None]
        blurred = cv2.GaussianBlur(out, (0, 0), max(0.02 * size, 0.5)).astype(np.float64)
        padded = blurred + (np.median(np.asarray(photo), axis=(0, 1)) - blurred) * fade
        weight = np.clip(outside * size / 2, 0, 1)[..., None]  # blurred from a pixel or two past the edge on
        out = np.rint(out * (1 - weight) + padded * weight).astype(np.uint8)
    return Image.fromarray(out).resize((crop.resolution, crop.resolution), Image.LANCZOS)


@dataclass(frozen=True)
class Face:
    """A detected face: its box (x, y, w, h in photo pixels, turned by `angle` degrees about its centre) and how
    many of the cascade's raw windows agreed on it."""
    box: tuple[float, float, float, float]
    angle: float
    votes: int

    @property
    def centre(self) -> np.ndarray:
        x, y, w, h = self.box
        return np.array([x + w / 2, y + h / 2])


@dataclass(frozen=True)
class Detector:
    """OpenCV's frontal cat-face Haar cascade, run on a grey copy shrunk to `work_side` px (longest side) and
    turned by each of `angles` so tilted faces are found too."""
    cascade: str = "haarcascade_frontalcatface_extended.xml"
    scale_factor: float = 1.05
    neighbours: int = 2
    min_size: int = 24              # px of the working copy
    work_side: int = 192
    angles: tuple[float, ...] = (0.0, -15.0, 15.0)
    equalize: bool = True
    close_up_pad: float = 0.3       # the second look pads each side by this share of the shorter side
    close_up_min: float = 0.8       # and looks for faces at least this share of the shorter side
    close_up_neighbours: int = 1    # permissive where the first look found nothing; else `neighbours`
    angle_span: float = 10.0        # the tilt is refined within this many degrees of the view's (0: not)

    def classifier(self) -> cv2.CascadeClassifier:
        return _classifier(self.cascade)

    def detect(self, photo: Image.Image) -> list[Face]:
        """Faces in an RGB photo, largest first. A second look for a face larger than the photo (a close-up that
        cuts off the ears or chin, where the first look may take a cheek for a small face) searches a copy padded
        by repeating its edges; it is trusted on one vote only where the first look found nothing."""
        grey = np.asarray(photo.convert("L"))
        shrink = min(1.0, self.work_side / max(grey.shape))
        if shrink < 1:
            grey = cv2.resize(grey, (round(grey.shape[1] * shrink), round(grey.shape[0] * shrink)),
                              interpolation=cv2.INTER_AREA)
        if self.equalize:
            grey = cv2.equalizeHist(grey)
        found = self._search(grey, 0, self.min_size, self.neighbours)
        if self.close_up_pad > 0:
            pad = round(self.close_up_pad * min(grey.shape))
            padded = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            close = self._search(padded, pad, round(self.close_up_min * min(grey.shape)), self.close_up_neighbours)
            found += [f for f in close if not found or f.votes >= self.neighbours]
        faces = merge_views(found)
        if self.angle_span > 0:
            faces = [Face(f.box, level_angle(grey, f, self.angle_span), f.votes) for f in faces]
        return [Face(tuple(v / shrink for v in f.box), f.angle, f.votes) for f in faces]

    def _search(self, grey: np.ndarray, pad: int, min_size: int, neighbours: int) -> list[Face]:
        """Detections in every turned view of `grey` (a working copy padded by `pad` px), in its unpadded
        coordinates."""
        centre = np.array([grey.shape[1], grey.shape[0]]) / 2
        found = []
        for angle in self.angles:
            # the working copy seen through a frame turned by `angle`: a face tilted by `angle` stands level in it
            m = np.hstack([_turn(angle), (centre - 0.5 - _turn(angle) @ (centre - 0.5))[:, None]])
            level = grey if angle == 0 else cv2.warpAffine(grey, m, grey.shape[::-1], flags=cv2.INTER_LINEAR
                                                           | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
            rects, votes = self.classifier().detectMultiScale2(level, scaleFactor=self.scale_factor,
                                                               minNeighbors=neighbours,
                                                               minSize=(min_size, min_size))
            for (x, y, w, h), n in zip(rects, votes):
                c = m[:, :2] @ (np.array([x + w / 2, y + h / 2]) - 0.5) + m[:, 2] + 0.5 - pad
                found.append(Face((c[0] - w / 2, c[1] - h / 2, w, h), angle, int(n)))
        return found


def level_angle(grey: np.ndarray, face: Face, span: float, step: float = 1.0, patch: int = 64) -> float:
    """The tilt (within `span` degrees of the face's view) at which the face looks most like its mirror image:
    cat faces are left-right symmetric, so this levels the eyes more finely than the views' steps. Symmetry is
    scored on edges (gradient magnitude), allowing the axis to sit a little off the box centre."""
    x, y, w, h = face.box
    best, best_angle = -np.inf, face.angle
    for angle in face.angle + np.arange(-span, span + step / 2, step):
        crop = Crop((x - 0.1 * w, y - 0.1 * h, x + 1.1 * w, y + 1.1 * h), float(angle), patch, grey.shape[::-1])
        p = cv2.warpAffine(grey, frame_to_photo(crop, patch), (patch, patch),
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        p = p.astype(np.float32)
        edges = np.hypot(cv2.Sobel(p, cv2.CV_32F, 1, 0), cv2.Sobel(p, cv2.CV_32F, 0, 1))[8:-4]
        for shift in range(-6, 7):
            a = edges[:, patch // 2 + shift - 22: patch // 2 + shift + 22]
            a = a - a.mean()
            score = (a * a[:, ::-1]).sum() / ((a * a).sum() + 1e-9)  # correlation with the mirror image
            if score > best:
                best, best_angle = score, float(angle)
    return best_angle


def merge_views(faces: list[Face]) -> list[Face]:
    """One face per cat, largest first: detections (from the differently turned views) whose centres lie within
    half a box of each other are one face, kept from the view where most windows agreed; a detection centred
    inside a larger face is part of it (an eye or a nose taken for a small face)."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: (-f.votes, abs(f.angle))):
        if all(np.linalg.norm(face.centre - k.centre) > 0.5 * min(face.box[2], k.box[2]) for k in kept):
            kept.append(face)
    kept.sort(key=lambda f: -f.box[2])
    return [f for i, f in enumerate(kept)
            if not any(np.abs(f.centre - big.centre).max() < big.box[2] / 2 for big in kept[:i])]


_CLASSIFIERS: dict[str, cv2.CascadeClassifier] = {}


def _classifier(name: str) -> cv2.CascadeClassifier:
    if name not in _CLASSIFIERS:
        c = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if c.empty():
            raise RuntimeError(f"OpenCV ships no {name} (opencv-python-headless 4.x has it; 5.0 does not)")
        _CLASSIFIERS[name] = c
    return _CLASSIFIERS[name]


def crop_for_face(face: Face, resolution: int, photo_size: tuple[int, int], faces_found: int = 1) -> Crop:
    """The frame that puts `face` where AFHQ faces sit: its eye line level at AFHQ's height, as wide as AFHQ's."""
    x, y, w, h = face.box
    side = w / AFHQ_FACE_WIDTH
    turn = _turn(face.angle)
    eyes = face.centre + turn @ np.array([BOX_EYE_X * w, (BOX_EYE_LINE - 0.5) * h])
    centre = eyes + turn @ (np.array([0.5 - AFHQ_EYE_X, 0.5 - AFHQ_EYE_LINE]) * side)
    return Crop.around(centre, side, face.angle, resolution, photo_size, face=tuple(float(v) for v in face.box),
                       faces_found=faces_found)


ALIGN_MODES = ("auto", "off")


@dataclass(frozen=True)
class FramingConfig:
    """How photos are framed before inversion (the --align, --face and --paste-back flags)."""
    align: str = "auto"       # auto: frame the cat's face as AFHQ does (centre crop where none is found); off: centre
    face: int = 1             # which face to frame where there are several, largest first
    paste_back: bool = False  # also write each rendered frame pasted back into the full photo

    def __post_init__(self):
        if self.align not in ALIGN_MODES:
            raise ValueError(f"--align must be one of {', '.join(ALIGN_MODES)}, got {self.align!r}")
        if self.face < 1:
            raise ValueError(f"--face counts from 1 (the largest face), got {self.face}")


DETECTOR = Detector()


def load_framed(path, resolution: int, config: FramingConfig) -> tuple[Image.Image, Crop, list[str]]:
    """Read a photo and frame it for a `resolution` px generator; the frame, its crop and the notices to show."""
    photo, notes = open_rgb(path)
    image, crop, framing_notes = frame_photo(photo, resolution, config, path)
    return image, crop, notes + framing_notes


def frame_photo(photo: Image.Image, resolution: int, config: FramingConfig, name="photo",
                detector: Detector = DETECTOR) -> tuple[Image.Image, Crop, list[str]]:
    """Frame an RGB photo for a `resolution` px generator as `config` says; the notices name it `name`."""
    notes: list[str] = []
    if config.align == "off":
        return square_rgb(photo, resolution, name, notes), centre_crop(photo.size, resolution), notes
    faces = detector.detect(photo)
    if not faces:
        notes.append(f"{name}: no cat face found; centre-cropped")
        return square_rgb(photo, resolution, name, []), centre_crop(photo.size, resolution), notes
    if config.face > len(faces):
        raise UserError(f"--face {config.face} asks for more faces than the {len(faces)} found", name)
    if len(faces) > 1:
        notes.append(f"{name}: {len(faces)} cat faces found; framing face {config.face} by size "
                     "(--face K picks another)")
    crop = crop_for_face(faces[config.face - 1], resolution, photo.size, len(faces))
    if crop.side < resolution:
        notes.append(f"{name}: the cat's face is {crop.face[2]:.0f} px wide, less than the "
                     f"{AFHQ_FACE_WIDTH * resolution:.0f} px this generator draws it at: the result will be blurry")
    return frame(photo, crop), crop, notes


FEATHER = 0.12  # the paste-back mask fades from 1 to 0 over this share of the frame's side, at its edges


def soft_mask(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The paste-back weight at frame coordinates u, v in [0, 1]: 1 inside, fading smoothly to 0 at the edges."""
    edge = np.minimum(np.minimum(u, 1 - u), np.minimum(v, 1 - v))
    t = np.clip(edge / FEATHER, 0, 1)
    return t * t * (3 - 2 * t)


def paste_back(photo: Image.Image, crop: Crop, image: Image.Image) -> Image.Image:
    """`image` (a square frame of `crop`, at any size) composited into the full RGB photo through the soft mask;
    pixels where the mask is 0 are the photo's own, exactly."""
    size = image.size[0]
    to_frame = cv2.invertAffineTransform(frame_to_photo(crop, size))
    corners = frame_to_photo(crop, size) @ np.array([[-0.5, -0.5, 1], [size - 0.5, -0.5, 1],
                                                      [-0.5, size - 0.5, 1], [size - 0.5, size - 0.5, 1]]).T
    x0, y0 = np.maximum(np.floor(corners.min(axis=1) + 0.5).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=1) + 0.5).astype(int), photo.size)
    out = np.array(photo)
    if x1 <= x0 or y1 <= y0:
        return Image.fromarray(out)
    to_frame[:, 2] += to_frame[:, :2] @ np.array([x0, y0])   # from the region's pixels
    warped = cv2.warpAffine(np.asarray(image.convert("RGB")), to_frame, (x1 - x0, y1 - y0),
                            flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    yy, xx = np.mgrid[0:y1 - y0, 0:x1 - x0]
    fx, fy = (to_frame[:, :2] @ np.stack([xx.ravel(), yy.ravel()]) + to_frame[:, 2:]).reshape(2, *xx.shape)
    mask = soft_mask((fx + 0.5) / size, (fy + 0.5) / size)[..., None]
    region = out[y0:y1, x0:x1]
    blended = np.rint(region * (1 - mask) + warped * mask).clip(0, 255).astype(np.uint8)
    out[y0:y1, x0:x1] = np.where(mask > 0, blended, region)
    return Image.fromarray(out)


def pasted(inp, image) -> Image.Image:
    """What was rendered for an input (an image [3, R, R] in [-1, 1]) pasted back into its full photo."""
    photo, _ = open_rgb(inp.path)
    return paste_back(photo, inp.crop, to_pil(image))
