# Generates tests/data/yunet/similarity_cv2.txt: 5-point sets (photo landmarks -> ArcFace 112 template)
# and the 2x3 matrix from OpenCV 4.6 cv2.estimateAffinePartial2D (LMEDS + Levenberg-Marquardt refine).
import cv2, numpy as np
rng = np.random.default_rng(4)
tpl = np.array([[38.2946,51.6963],[73.5318,51.5014],[56.0252,71.7366],[41.5493,92.3655],[70.7299,92.2041]], np.float32)
lines = ["# src x0 y0 .. x4 y4 | m00 m01 m02 m10 m11 m12  (cv2.estimateAffinePartial2D(src, arcface112, method=cv2.RANSAC, ransacReprojThreshold=1000 so all 5 points are inliers and the Levenberg-Marquardt refine gives the least-squares fit), OpenCV %s)" % cv2.__version__]
for k in range(6):
    ang = rng.uniform(-60, 60); sc = rng.uniform(0.3, 4.0); t = rng.uniform(-50, 400, 2)
    a = np.deg2rad(ang)
    R = sc * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    src = (tpl - 56) @ R.T + t + rng.normal(0, 1.5 * sc, (5, 2))  # noisy landmarks
    src = src.astype(np.float32)
    m, inl = cv2.estimateAffinePartial2D(src, tpl, method=cv2.RANSAC, ransacReprojThreshold=1000.0, refineIters=50)
    lines.append(" ".join("%.4f" % v for v in src.reshape(-1)) + " | " + " ".join("%.8f" % v for v in m.reshape(-1)))
open("tests/data/yunet/similarity_cv2.txt", "w").write("\n".join(lines) + "\n")
# cross-check with the closed form (Umeyama)
for ln in lines[1:]:
    a, b = ln.split("|"); src = np.array(a.split(), float).reshape(5, 2); m = np.array(b.split(), float).reshape(2, 3)
    zs = src[:, 0] + 1j * src[:, 1]; zd = tpl[:, 0] + 1j * tpl[:, 1]
    zs0 = zs - zs.mean(); zd0 = zd - zd.mean(); c = (np.conj(zs0) * zd0).sum() / (abs(zs0) ** 2).sum()
    print(abs(c.real - m[0, 0]), abs(c.imag - m[1, 0]), abs((zd.mean() - c * zs.mean()).real - m[0, 2]))
