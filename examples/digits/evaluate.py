"""Score the model on the test split: metrics, a confusion table, F1 per digit."""

import csv
import json
import os
import pickle

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

with open("model.pkl", "rb") as f:
    model = pickle.load(f)
os.makedirs("eval", exist_ok=True)
data = np.load("data/test.npz")
predicted = model.predict(data["x"])
actual = data["y"]
with open("metrics.json", "w") as f:
    json.dump({"accuracy": round(float(accuracy_score(actual, predicted)), 4),
               "f1_macro": round(float(f1_score(actual, predicted, average="macro")), 4)},
              f, indent=2)
with open("eval/confusion.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["actual", "predicted"])
    w.writerows(zip(actual.tolist(), predicted.tolist(), strict=True))
with open("eval/per_digit.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["digit", "f1"])
    for digit, score in enumerate(f1_score(actual, predicted, average=None)):
        w.writerow([digit, round(float(score), 4)])
