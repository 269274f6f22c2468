"""The Trainer: its URL settings (`state`), dataset choice (`data`), the block builder (`blocks`),
training settings (`settings`), transfer learning (`transfer`) and the runs and their results
(`runs`). Uses the `own_classes` room for the learner's own classes."""
