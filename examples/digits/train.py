"""Fit a support-vector classifier on the training split."""

import pickle

import numpy as np
import yaml
from sklearn.svm import SVC

with open("params.yaml") as f:
    p = yaml.safe_load(f)["train"]
data = np.load("data/train.npz")
model = SVC(C=p["C"], gamma=p["gamma"], random_state=0).fit(data["x"], data["y"])
with open("model.pkl", "wb") as f:
    pickle.dump(model, f)
