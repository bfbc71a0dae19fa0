"""Plots: loading data files, building Vega-Lite specs, and rendering them."""
