"""The Convolution lab: its URL settings and controls (`view`), the outputs and their arithmetic
(`outputs`, `arithmetic`) and the transposed-convolution mode (`transpose`)."""
