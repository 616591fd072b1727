# Peer for the YuNet speed comparison (issue 4): OpenCV 4.6 DNN (Debian python3-opencv) running the same
# ONNX file with the same preprocessing (letterbox to 640x640, BGR 0..255) and decoding (numpy + NMSBoxes),
# single thread. Usage: /usr/bin/python3 peer_opencv_yunet.py MODEL.onnx PHOTO W H [reps]
# (the photo is resized to WxH first). Prints median/min detect time and forward-only median.
import cv2, numpy as np, sys, time
cv2.setNumThreads(1)
model, image, W, H = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
reps = int(sys.argv[5]) if len(sys.argv) > 5 else 30
net = cv2.dnn.readNetFromONNX(model)
img = cv2.resize(cv2.imread(image), (W, H))
size = 640
names = [f'{k}_{s}' for k in ['cls', 'obj', 'bbox', 'kps'] for s in (8, 16, 32)]
def detect():
    s = size / max(H, W); nw, nh = int(W * s), int(H * s)
    can = np.zeros((size, size, 3), np.uint8); can[:nh, :nw] = cv2.resize(img, (nw, nh))
    net.setInput(cv2.dnn.blobFromImage(can))
    d = dict(zip(names, net.forward(names)))
    boxes, scores = [], []
    for st in (8, 16, 32):
        g = size // st
        sc = np.sqrt(np.clip(d[f'cls_{st}'].ravel(), 0, 1) * np.clip(d[f'obj_{st}'].ravel(), 0, 1))
        idx = np.nonzero(sc > 0.6)[0]; bb = d[f'bbox_{st}'].reshape(-1, 4)[idx]
        r, c = np.divmod(idx, g); w = np.exp(bb[:, 2]) * st; h = np.exp(bb[:, 3]) * st
        cx = (c + bb[:, 0]) * st; cy = (r + bb[:, 1]) * st
        boxes += np.stack([cx - w / 2, cy - h / 2, w, h], 1).tolist(); scores += sc[idx].tolist()
    return cv2.dnn.NMSBoxes(boxes, scores, 0.6, 0.3)
for _ in range(3): detect()
t = []; tf = []
for _ in range(reps):
    t0 = time.perf_counter(); k = detect(); t.append((time.perf_counter() - t0) * 1e3)
s = size / max(H, W); nw, nh = int(W * s), int(H * s); can = np.zeros((size, size, 3), np.uint8); can[:nh, :nw] = cv2.resize(img, (nw, nh))
blob = cv2.dnn.blobFromImage(can)
for _ in range(reps):
    net.setInput(blob); t0 = time.perf_counter(); net.forward(names); tf.append((time.perf_counter() - t0) * 1e3)
print(f"opencv {W}x{H} faces={len(k)} detect_median_ms={np.median(t):.3f} min={min(t):.3f} forward_only_median_ms={np.median(tf):.3f}")
