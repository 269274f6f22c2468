"""Where is it?: a run that learned boxes, looked at closely. Its URL settings and the run shown
(`state`), its test pictures with both boxes and their heatmaps (`pictures`), and its precision-recall
curves with the tutorial's and COCO's average precisions (`curves`)."""
