"""cnnviz: see how convolutional neural networks work.

The library never imports Streamlit, and importing it does not import TensorFlow: the modules that
need TensorFlow import it lazily, so a page that only convolves paints fast.
"""

__version__ = "0.1.0"
