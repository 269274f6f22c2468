"""Your own classes, a section of the Trainer: examples drawn, uploaded or photographed (`view`) and
the live test of the trained network (`live`)."""
