#!/usr/bin/python3
"""Parity of facescore's Haar detector with OpenCV 4.6 on the benchmark photos.

For every image of ../shared/bench/peers/haar_ref/boxes.json (OpenCV's boxes for
scaleFactor/minNeighbors 1.03/6 and 1.1/5) runs `facescore detect --json` with the same
parameters and prints, per image and parameter set, our box count vs OpenCV's, the smallest IoU
over matched boxes (greedy best-IoU matching) and whether the box lists are identical.
Exit status 0 iff every count matches and every matched IoU >= 0.95.

usage: bench/haar_compare.py [--bin build/facescore] [--faces DIR] [--ref boxes.json] [--threads N]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def iou(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match(ours, ref):
    """Greedy matching by best IoU; returns the IoUs of matched pairs."""
    pairs = sorted(((iou(o, r), i, j) for i, o in enumerate(ours) for j, r in enumerate(ref)), reverse=True)
    used_o, used_r, ious = set(), set(), []
    for v, i, j in pairs:
        if i in used_o or j in used_r:
            continue
        used_o.add(i)
        used_r.add(j)
        ious.append(v)
    return ious


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "facescore"))
    ap.add_argument("--faces", default=os.path.join(os.environ.get("BENCH_WORK", "/tmp/facescore-bench"), "faces"))
    ap.add_argument("--ref", default=os.path.join(ROOT, "..", "shared", "bench", "peers", "haar_ref", "boxes.json"))
    ap.add_argument("--threads", default="2")
    a = ap.parse_args()
    ref = json.load(open(a.ref))["images"]
    ok = True
    print("%-26s %-14s %5s %5s %8s %s" % ("image", "params", "ours", "cv", "min_iou", "identical"))
    n_ident = n_all = 0
    for name in sorted(ref):
        path = os.path.join(a.faces, name)
        if not os.path.isfile(path):
            print("%-26s missing (run ../shared/bench/setup_peers.sh)" % name)
            ok = False
            continue
        for key, boxes in ref[name].items():
            if not isinstance(boxes, list):
                continue
            sf, mn = key[key.index("(") + 1:-1].split(",")
            out = subprocess.run([a.bin, "detect", "--detector", "haar", "--json", "--scale-factor", sf, "--min-neighbors", mn,
                                  "--threads", a.threads, path], capture_output=True, text=True)
            if out.returncode != 0:
                print("%-26s %-14s facescore failed: %s" % (name, key, out.stderr.strip()))
                ok = False
                continue
            ours = [f["box"] for f in json.loads(out.stdout.splitlines()[0])["faces"]]
            ious = match(ours, boxes)
            mi = min(ious) if ious else float("nan")
            ident = sorted(ours) == sorted(boxes)
            n_ident += ident
            n_all += 1
            good = len(ours) == len(boxes) and all(v >= 0.95 for v in ious)
            ok &= good
            print("%-26s %-14s %5d %5d %8s %s%s" % (name, key, len(ours), len(boxes),
                  "%.4f" % mi if ious else "-", "yes" if ident else "no", "" if good else "   <-- FAIL"))
    print("identical box lists: %d of %d; %s" % (n_ident, n_all,
          "PASS (same counts, IoU >= 0.95)" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
