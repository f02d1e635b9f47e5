#!/usr/bin/python3
"""The benchmark peer for the face pipeline: the same models, inputs and stage cuts as
daemon/face's BenchmarkFace, through Debian's python3-opencv, one OpenCV thread.

Prints JSON: {"peer": ..., "stages": {"stage": {"ns_per_op": [one mean per round]}},
"metrics": {"model_load": {"rss_MiB": resident memory right after loading the models}}}.
"""
import json
import sys
import time

import cv2
import numpy as np

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ROOT = sys.argv[2] if len(sys.argv) > 2 else "."

cv2.setNumThreads(1)

TEMPLATE = np.array([
    [47.5492, 46.5990], [100.4761, 46.5990], [74.0127, 76.5625],
    [50.4149, 103.0233], [97.6104, 103.0233]], dtype=np.float64)
MEAN = (122.782, 117.001, 104.298)
# HSE FaceRes: the ArcFace template scaled to 224, BGR minus the B, G, R means, no scaling.
FR_TEMPLATE = np.array([
    [76.5892, 103.3926], [147.0636, 103.0028], [112.0504, 143.4732],
    [83.0986, 184.7310], [141.4598, 184.4082]], dtype=np.float64)
FR_MEAN = (103.939, 116.779, 123.68)
# The daemon's shipped test-time processing (face.DefaultOpts): keep the two in step.
FLIP_DLIB, FLIP_FACERES = True, True
with open(ROOT + "/models/MANIFEST.json") as f:
    MANIFEST = json.load(f)
STATS = {m["id"]: m.get("impostor", {"mean": 0.0, "std": 1.0}) for m in MANIFEST["models"]}


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def read(name):
    with open(ROOT + "/testdata/face/" + name, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8)


def load_models():
    d = cv2.FaceDetectorYN.create(ROOT + "/models/face_detection_yunet_2022mar.onnx", "", (320, 320), 0.7, 0.3, 500)
    n = cv2.dnn.readNetFromONNX(ROOT + "/models/dlib_face_recognition_resnet_v1_faceapi.onnx")
    fr = cv2.dnn.readNetFromONNX(ROOT + "/models/faceres_descriptor.onnx")
    return d, n, fr


detector, net, frnet = load_models()
rss_after_load = rss_mib()


def detect(img):
    detector.setInputSize((img.shape[1], img.shape[0]))
    _, faces = detector.detect(img)
    return faces


def similarity(src, dst):
    # Least-squares similarity (Umeyama, no reflection), the same closed form as the daemon's.
    sm, dm = src.mean(axis=0), dst.mean(axis=0)
    p, q = src - sm, dst - dm
    norm = (p * p).sum()
    a = (p * q).sum() / norm
    b = (p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum() / norm
    return np.array([[a, -b, dm[0] - (a * sm[0] - b * sm[1])],
                     [b, a, dm[1] - (b * sm[0] + a * sm[1])]])


def align(img, face, template=TEMPLATE, size=150):
    m = similarity(face[4:14].reshape(5, 2).astype(np.float64), template)
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def embed(chip):
    net.setInput(cv2.dnn.blobFromImage(chip, 1.0 / 256, (150, 150), MEAN, swapRB=True, crop=False))
    v = net.forward().flatten().copy()
    if FLIP_DLIB:
        net.setInput(cv2.dnn.blobFromImage(cv2.flip(chip, 1), 1.0 / 256, (150, 150), MEAN, swapRB=True, crop=False))
        v = (v + net.forward().flatten()) / 2
    return v


def embed_faceres(chip):
    frnet.setInput(cv2.dnn.blobFromImage(chip, 1.0, (224, 224), FR_MEAN, swapRB=False, crop=False))
    v = frnet.forward().flatten().copy()
    if FLIP_FACERES:
        frnet.setInput(cv2.dnn.blobFromImage(cv2.flip(chip, 1), 1.0, (224, 224), FR_MEAN, swapRB=False, crop=False))
        v = (v + frnet.forward().flatten()) / 2
    return v


def template(img, face):
    return (embed(align(img, face)), embed_faceres(align(img, face, FR_TEMPLATE, 224)))


def fused(a, b):
    d = np.linalg.norm(a[0] - b[0])
    c = 1 - float(np.dot(a[1], b[1]) / (np.linalg.norm(a[1]) * np.linalg.norm(b[1])))
    s1, s2 = STATS["dlib-resnet-v1"], STATS["hse-faceres-v1"]
    return 0.5 * (d - s1["mean"]) / s1["std"] + 0.5 * (c - s2["mean"]) / s2["std"]


def largest(faces):
    return max(faces, key=lambda f: f[2] * f[3])


png, jpg, jp2 = read("astronaut.png"), read("astronaut-shifted.jpg"), read("astronaut-320.jp2")
astro = cv2.imdecode(png, cv2.IMREAD_COLOR)
img640 = cv2.resize(astro, (640, 480), interpolation=cv2.INTER_AREA)
img320 = cv2.resize(astro, (320, 240), interpolation=cv2.INTER_AREA)
face = largest(detect(astro))
t1 = template(astro, face)
t2 = (t1[0].copy(), t1[1].copy())
t2[0][0] += 0.1


def check_1to1():
    temps = []
    for data in (png, jpg):
        img = cv2.imdecode(data, cv2.IMREAD_COLOR)
        temps.append(template(img, largest(detect(img))))
    return fused(temps[0], temps[1])


stages = {
    "decode_png_512": lambda: cv2.imdecode(png, cv2.IMREAD_COLOR),
    "decode_jpeg_512": lambda: cv2.imdecode(jpg, cv2.IMREAD_COLOR),
    "decode_jp2_320": lambda: cv2.imdecode(jp2, cv2.IMREAD_COLOR),
    "detect_640x480": lambda: detect(img640),
    "detect_320x240": lambda: detect(img320),
    "align": lambda: align(astro, face),
    "embed_dlib-resnet-v1": lambda: embed(align(astro, face)),
    "embed_hse-faceres-v1": lambda: embed_faceres(align(astro, face, FR_TEMPLATE, 224)),
    "embed": lambda: template(astro, face),
    "compare": lambda: fused(t1, t2),
    "check_1to1": check_1to1,
}

out = {"peer": "python3-opencv " + cv2.__version__, "stages": {},
       "metrics": {"model_load": {"rss_MiB": rss_after_load}}}
loads = []
for _ in range(3):
    t0 = time.perf_counter()
    load_models()
    loads.append((time.perf_counter() - t0) * 1e9)
out["stages"]["model_load"] = {"ns_per_op": loads, "iterations": 1}
for name, fn in stages.items():
    fn()  # warm up
    # Enough iterations for about 0.3 s a round, as testing.B aims for a stable mean.
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    n = max(1, min(100000, int(0.3 / once)))
    rounds = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - t0) / n * 1e9)
    out["stages"][name] = {"ns_per_op": rounds, "iterations": n}
print(json.dumps(out))
