#!/usr/bin/python3
"""Regenerates the detector test fixtures with OpenCV 4.6 (Debian python3-opencv).

  /usr/bin/python3 tests/data/detect/make_fixtures.py     (from the repository root)

Writes into tests/data/detect/:
  grace_hopper.jpg   ../shared/models/test_images/grace_hopper.bmp as JPEG quality 90 (Apache-2.0,
                     see README.md here)
  expected_boxes.txt OpenCV's detectMultiScale boxes, one call per line:
                     "<image> <cascade> <scale> <neighbors> <minSize> <maxSize> <count> x y w h ..."
                     for samples/face.jpg, grace_hopper.jpg and the synthetic texture (the test makes
                     the same texture: gray(x, y) = ((x*x + 3*y*y + 5*x*y) >> 3) & 255, 160x120),
                     with the default cascade, plus two Debian cascades with tilted features / trees
  resize_golden.bin  cv2.resize(INTER_LINEAR_EXACT) of a 37x29 pseudo-random gray image to several
                     sizes: u32 sw, sh, then per case u32 dw, dh and dw*dh bytes (all little-endian)
  integral3_golden.bin  cv2.integral3 of a 13x9 pseudo-random image: u32 w, h, the w*h pixels, then
                     sum, sqsum (wrapped to int32), tilted, each (h+1)*(w+1) int32
"""
import os
import struct
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "tests", "data", "detect")
SHARED = os.path.join(ROOT, "..", "shared")
CASCADE = os.path.join(ROOT, "models", "opencv", "haarcascade_frontalface_default.xml")


def texture():
    y, x = np.mgrid[0:120, 0:160].astype(np.int64)
    return (((x * x + 3 * y * y + 5 * x * y) >> 3) & 255).astype(np.uint8)


def lcg_image(w, h, seed):
    v, out = seed, np.zeros((h, w), np.uint8)
    for i in range(h):
        for j in range(w):
            v = (v * 1103515245 + 12345) & 0x7FFFFFFF
            out[i, j] = (v >> 16) & 255
    return out


def boxes_line(name, gray, casc, sf, mn, mins=0, maxs=0):
    b = cv2.CascadeClassifier(casc).detectMultiScale(gray, sf, mn, 0, (mins, mins), (maxs, maxs))
    b = sorted([list(map(int, r)) for r in b])
    return "%s %s %g %d %d %d %d %s" % (name, os.path.basename(casc), sf, mn, mins, maxs, len(b),
                                         " ".join("%d %d %d %d" % tuple(r) for r in b))


def main():
    cv2.ocl.setUseOpenCL(False)
    gh = cv2.imread(os.path.join(SHARED, "models", "test_images", "grace_hopper.bmp"))
    cv2.imwrite(os.path.join(OUT, "grace_hopper.jpg"), gh, [cv2.IMWRITE_JPEG_QUALITY, 90])
    imgs = {
        "samples/face.jpg": cv2.cvtColor(cv2.imread(os.path.join(ROOT, "samples", "face.jpg")), cv2.COLOR_BGR2GRAY),
        "tests/data/detect/grace_hopper.jpg": cv2.cvtColor(cv2.imread(os.path.join(OUT, "grace_hopper.jpg")), cv2.COLOR_BGR2GRAY),
        "texture": texture(),
    }
    lines = []
    for name, g in imgs.items():
        for sf, mn in ((1.1, 5), (1.03, 6)):
            lines.append(boxes_line(name, g, CASCADE, sf, mn))
    lines.append(boxes_line("samples/face.jpg", imgs["samples/face.jpg"], CASCADE, 1.1, 3, 60, 120))
    lines.append(boxes_line("samples/face.jpg", imgs["samples/face.jpg"], CASCADE, 1.1, 3, 100, 100))
    lbp = os.path.join(ROOT, "models", "opencv", "lbpcascade_frontalface_improved.xml")
    for name in ("samples/face.jpg", "tests/data/detect/grace_hopper.jpg"):
        lines.append(boxes_line(name, imgs[name], lbp, 1.1, 3))
    extra = "/usr/share/opencv4/haarcascades"
    for casc in ("haarcascade_eye_tree_eyeglasses.xml", "haarcascade_smile.xml"):
        lines.append(boxes_line("samples/face.jpg", imgs["samples/face.jpg"], os.path.join(extra, casc), 1.1, 3))
    with open(os.path.join(OUT, "expected_boxes.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    src = lcg_image(37, 29, 7)
    with open(os.path.join(OUT, "resize_golden.bin"), "wb") as f:
        f.write(struct.pack("<II", 37, 29))
        for dw, dh in ((30, 23), (19, 15), (12, 9), (36, 28), (18, 14), (25, 29), (50, 40), (37, 29)):
            r = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR_EXACT)
            f.write(struct.pack("<II", dw, dh) + r.tobytes())
        f.write(src.tobytes())

    im = lcg_image(13, 9, 3)
    s, sq, t = cv2.integral3(im, sdepth=cv2.CV_32S, sqdepth=cv2.CV_64F)
    with open(os.path.join(OUT, "integral3_golden.bin"), "wb") as f:
        f.write(struct.pack("<II", 13, 9) + im.tobytes())
        f.write(s.astype(np.int32).tobytes() + sq.astype(np.int64).astype(np.int32).tobytes() + t.astype(np.int32).tobytes())
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
