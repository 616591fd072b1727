#!/usr/bin/python3
"""Result-code shares of the Haar detector on SCUT-FBP5500 (one face per image).

Runs `facescore detect --json` over all images (in batches) for each parameter set and prints the
share of images with code 2 (exactly one face), 1 (several) and 0 (none). With --opencv it also runs
OpenCV 4.6 (cv2.imread + BGR2GRAY + detectMultiScale) on every image and reports how many images
have identical box lists.

usage: bench/haar_scut.py [--bin build/facescore] [--dir ../shared/data/scut-fbp5500/images]
                          [--threads 2] [--params design=1.03:6,common=1.1:5] [--opencv] [--limit N]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_ours(binary, files, sf, mn, threads):
    res = {}
    for i in range(0, len(files), 500):
        out = subprocess.run([binary, "detect", "--detector", "haar", "--json", "--threads", str(threads), "--scale-factor", str(sf),
                              "--min-neighbors", str(mn)] + files[i:i + 500], capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
        for line in out.stdout.splitlines():
            d = json.loads(line)
            res[d["file"]] = (d["code"], sorted(f["box"] for f in d["faces"]))
    return res


def run_opencv(files, sf, mn):
    import cv2
    cv2.setNumThreads(2)
    clf = cv2.CascadeClassifier(os.path.join(ROOT, "models", "opencv", "haarcascade_frontalface_default.xml"))
    res = {}
    for f in files:
        g = cv2.cvtColor(cv2.imread(f), cv2.COLOR_BGR2GRAY)
        b = sorted(list(map(int, r)) for r in clf.detectMultiScale(g, sf, mn))
        res[f] = (0 if not b else 2 if len(b) == 1 else 1, b)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "facescore"))
    ap.add_argument("--dir", default=os.path.join(ROOT, "..", "shared", "data", "scut-fbp5500", "images"))
    ap.add_argument("--threads", default="2")
    ap.add_argument("--params", default="design=1.03:6,common=1.1:5")
    ap.add_argument("--opencv", action="store_true")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.dir, "*.jpg")))
    if a.limit:
        files = files[:a.limit]
    if not files:
        sys.exit("no images in " + a.dir)
    print("# %d images, threads %s, %s" % (len(files), a.threads, time.strftime("%H:%M:%S")))
    for item in a.params.split(","):
        name, v = item.split("=")
        sf, mn = v.split(":")
        t0 = time.time()
        ours = run_ours(a.bin, files, float(sf), int(mn), a.threads)
        dt = time.time() - t0
        n = len(files)
        cnt = [sum(1 for f in files if f in ours and ours[f][0] == c) for c in (0, 1, 2)]
        failed = n - len(ours)
        print("%s(%s,%s): code2 %d/%d = %.2f%%, code1 %d (%.2f%%), code0 %d (%.2f%%), failed %d; %.1f s (incl. decode)"
              % (name, sf, mn, cnt[2], n, 100.0 * cnt[2] / n, cnt[1], 100.0 * cnt[1] / n, cnt[0],
                 100.0 * cnt[0] / n, failed, dt))
        if a.opencv:
            cv = run_opencv(files, float(sf), int(mn))
            same = sum(1 for f in files if f in ours and ours[f][1] == cv[f][1])
            cv2n = sum(1 for f in files if cv[f][0] == 2)
            diff = [os.path.basename(f) for f in files if f not in ours or ours[f][1] != cv[f][1]]
            print("   OpenCV 4.6: code2 %d/%d = %.2f%%; identical box lists on %d/%d images%s"
                  % (cv2n, n, 100.0 * cv2n / n, same, n, (" (differ: %s)" % " ".join(diff[:20])) if diff else ""))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
