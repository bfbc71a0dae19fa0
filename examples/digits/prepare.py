"""Split scikit-learn's bundled digits (1,797 8x8 images) into train and test sets."""

import os

import numpy as np
import yaml
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

os.makedirs("data", exist_ok=True)
with open("params.yaml") as f:
    p = yaml.safe_load(f)["prepare"]
x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(
    x / 16.0, y, test_size=p["test_size"], random_state=p["seed"], stratify=y)
np.savez("data/train.npz", x=x_train, y=y_train)
np.savez("data/test.npz", x=x_test, y=y_test)
