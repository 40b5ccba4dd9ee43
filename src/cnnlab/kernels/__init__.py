"""Plain-NumPy fast paths with no autodiff (im2col, pooling windows) and the padding rule."""
