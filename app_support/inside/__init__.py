"""Inside the network: its URL settings (`settings`) and its views: the inputs, feature maps, learned
filters and heatmaps (`view`)."""
