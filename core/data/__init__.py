"""Data: dataset loaders and split rules (datasets/), the manifest schema, labels, the dataset
registry, images and the synthetic demo."""
