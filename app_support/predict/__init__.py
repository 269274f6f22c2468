"""Upload & predict: the answer for one picture, its heatmap, and the batch of a zip (`view`)."""
