"""Plain-NumPy kernels: no tensors, no gradients; the ops (``cnnlab.ops``) wrap them.

* ``padding``: the one window rule (output sizes and padding) of convs and pools;
* ``windows``: padding, strided window views, im2col and col2im;
* ``matmul``: matrix products split over cnnlab's threads, each on one BLAS thread;
* ``conv``: the conv forward, input-gradient and filter-gradient dispatchers and their strategies;
* ``pool``: the max-pool dispatcher and its strategies, average pooling;
* ``relu``, ``broadcast``: element-wise kernels over big arrays.

A new strategy is one function in its direction's module and one line in its dispatcher's
rule; the constants that rule reads live in ``runtime.tuning``.
"""
