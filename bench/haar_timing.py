#!/usr/bin/python3
"""Side-by-side timing: facescore's Haar detector vs OpenCV 4.6 on the benchmark photos.

Runs ../shared/bench/peers/haar_opencv.py (detectMultiScale only, gray precomputed) and
`facescore bench detect` (detection only, image decoded and converted to gray beforehand, one warm-up)
on the same images and parameters, one after the other in this run, and prints per image and
parameter set the median times and the ratio ours/OpenCV for 1 thread and for 2 threads
(OpenCV's default thread count on this 2-core machine), plus `uptime` before and after.

usage: bench/haar_timing.py [--bin build/facescore] [--faces DIR] [--reps 5] [--threads 1,2]
                            [--params design=1.03:6,common=1.1:5] [IMAGE ...]
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = os.path.join(ROOT, "..", "shared", "bench", "peers", "haar_opencv.py")


def ours(binary, image, sf, mn, threads, reps):
    out = subprocess.run([binary, "bench", "detect", "--detector", "haar", "--threads", str(threads), "--reps", str(reps),
                          "--scale-factor", str(sf), "--min-neighbors", str(mn), image],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1].startswith("median_ms "), out
    return float(out[-1].split()[1]), out[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "facescore"))
    ap.add_argument("--faces", default=os.path.join(os.environ.get("BENCH_WORK", "/tmp/facescore-bench"), "faces"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--params", default="design=1.03:6,common=1.1:5")
    ap.add_argument("images", nargs="*")
    a = ap.parse_args()
    images = a.images or sorted(glob.glob(os.path.join(a.faces, "*")))
    if not images:
        sys.exit("no images (run sh ../shared/bench/setup_peers.sh)")
    threads = [int(t) for t in a.threads.split(",")]
    params = []
    for item in a.params.split(","):
        name, v = item.split("=")
        sf, mn = v.split(":")
        params.append((name, float(sf), int(mn)))
    print("# uptime before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as td:
        js = os.path.join(td, "cv.json")
        thr_arg = ",".join("default" if t == 2 else str(t) for t in threads)
        subprocess.run(["/usr/bin/python3", PEER, "--repeat", str(a.reps), "--warmup", "1", "--threads", thr_arg,
                        "--params", a.params, "--json", js] + images, check=True, capture_output=True, text=True)
        cv = json.load(open(js))
    meta = cv["meta"]
    cvt = {}
    for r in cv["results"]:
        t = 1 if r["threads"] == "1" else (2 if r["threads"].startswith("default") else int(r["threads"]))
        cvt[(t, r["params"], r["image"])] = r["median_ms"]
    head = None
    ratios = {t: [] for t in threads}
    print("# OpenCV %s (%s, default threads %d); facescore medians of %d runs, OpenCV medians of %d runs"
          % (meta["opencv"], meta["parallel_framework"], meta["default_threads"], a.reps, a.reps))
    cols = "".join(" %9s %9s %6s" % ("ours_%dt" % t, "cv_%dt" % t, "ratio") for t in threads)
    print("%-26s %-14s%s" % ("image", "params", cols))
    for name, sf, mn in params:
        for img in images:
            base = os.path.basename(img)
            row = "%-26s %-14s" % (base[:26], "%s(%g,%d)" % (name, sf, mn))
            for t in threads:
                o, h = ours(a.bin, img, sf, mn, t, a.reps)
                head = head or h
                c = cvt[(t, name, base)]
                ratios[t].append(o / c)
                row += " %9.2f %9.2f %6.3f" % (o, c, o / c)
            print(row)
            sys.stdout.flush()
    for t in threads:
        r = ratios[t]
        print("threads %d: ratio ours/OpenCV geometric mean %.3f, worst %.3f" %
              (t, math.exp(sum(map(math.log, r)) / len(r)), max(r)))
    print("# facescore:", head)
    print("# uptime after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
