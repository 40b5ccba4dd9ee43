"""Every tuning constant of cnnlab's kernels and runtime, with the reason for its value.

They decide when work is worth splitting over threads, how big a chunk of work is, and
which strategy a kernel dispatcher picks.  None changes a result's meaning; some
change its rounding (noted), which the benchmark models' hashes (bench/hashes.py) show.
"""

# ---- threads (runtime.threads) ----------------------------------------------------------------

# Below this many array elements touched, handing part of the work to a worker thread
# costs more than it saves: waking a waiting worker costs about as long as a pass over
# ~100,000 elements.
MIN_ELEMENTS = 1 << 18

# Without a thread count asked for, cnnlab's kernels split their work over the cores this
# process may use, but over no more than this many threads: each part handed to a thread costs
# a wake-up and turns of the interpreter lock, which the threads take one at a time, so a
# parallel region's fixed cost grows with the thread count (about 30 microseconds a thread
# on a 16-core Xeon, bench/many_cores.py's machine), and the benchmark's models trained no
# faster on 8 or 16 threads than on 4 there (docs/performance.md, "More cores").
DEFAULT_MAX_THREADS = 4

# predict() runs two batches side by side (one per thread) only when a batch takes at least
# this long: below it, the threads spend more time handing the interpreter lock to each
# other than they save.
SIDE_BY_SIDE_MIN_SECONDS = 0.25e-3

# ---- matrix products (kernels.matmul) --------------------------------------------------------

# A product of at least this many multiply-adds is split over the threads (one part each)...
SPLIT_MULTIPLY_ADDS = 8_000_000
# ... by its rows, when it has at least this many: a product with fewer rows and a long
# shared axis (a conv's filter gradient, (10 x 100,352) @ (100,352 x 10)) runs slower in
# parts than on one thread.
SPLIT_MIN_OUTPUT = 128
# OpenBLAS computes a product's rows in groups of this many (the register tile of its
# Haswell and Zen sgemm kernels).  Cut into chunks of whole groups, counted from the row a
# call starts at, a product gives every row the bits one call over all rows gives; cut
# anywhere else, or by columns, it rounds some values differently.
ROW_GROUP = 12
# A product with a small result and a long shared axis (a conv's filter gradient) is cut
# along that axis into pieces of this many steps, shared over the threads, then summed.
# (This sums in another order than one product: it rounds differently.)
PIECE = 1024

# ---- convolutions (kernels.conv) ---------------------------------------------------------------

# With at most this many input channels (grayscale, RGB), im2col is built one kernel tap at
# a time (whole image rows per copy); with more, whole pixels' channel vectors are copied.
TAP_MAJOR_MAX_CHANNELS = 3
# im2col rows are built and multiplied a chunk of about this many rows at a time, so that a
# chunk's rows are still in cache when the product reads them.
CHUNK_ROWS = 2048
# Whatever the input, a convolution's temporary arrays (im2col rows, window gradients) stay
# under about this many bytes: beyond it the work is done a chunk of images, or of rows, at
# a time.
WORKING_MEMORY_BYTES = 256 << 20
# The inference conv + 2x2 pool by windows computes the windows of a group of images of about
# this many windows in one product (the threads take whole groups): a batch of predict()'s
# 32 small images is one product, as each product costs a few calls' overhead.
WINDOWS_PER_PRODUCT = 8192
# Beyond the working memory, a conv runs a band of output rows at a time, each band within
# the working memory divided by this: that many threads at once stay within it.
BAND_SHARES = 32
# The input gradient of a stride-1 conv is a correlation of the output gradient over its
# padded copy unless more than this fraction of that correlation's products would be with
# padding zeros (a 'valid' conv on a small image); then each window's share is added back.
CORRELATION_MAX_ZERO_FRACTION = 0.25

# A 3x3 stride-1 conv runs by Winograd's F(m x m, 3 x 3) where the multiply-adds it saves
# outweigh its transforms, which cost about this many multiply-adds' time per transformed
# entry and channel (see kernels.conv.winograd_tile; measured with bench/ab_winograd.py).
WINOGRAD_TRANSFORM_COST = 24
# Work cut into chunks that threads take whole (Winograd's, batch normalization's) is cut into
# at least this many chunks of nearly equal size (Winograd's into a multiple of it), so that
# two or four threads finish together.
MIN_CHUNKS = 4
# Winograd's work goes a chunk of images at a time, about this many bytes of transformed
# tiles, so that a chunk stays in a core's cache from one stage to the next.
WINOGRAD_CHUNK_BYTES = 1 << 20

# ---- element-wise kernels -------------------------------------------------------------------

# The ReLU compares rows of this many values with one cached row of zeros (64 KiB of float32,
# inside a core's L2 cache).
RELU_ROW = 1 << 14

# Dropout's gradient is scaled and gated by the ReLU a block of this many values at a time
# (three blocks of 64 KiB of float32 in a core's L2 cache between the two products).
DROPOUT_BLOCK = 1 << 14

# A per-channel vector is applied to rows of at most this many values (128 KiB of float32).
BROADCAST_ROW_VALUES = 1 << 15

# Batch normalization's passes (kernels.batch_norm) take an array in blocks of whole rows of
# about this many bytes, each block through all of a pass's steps while it is in a core's
# cache.  (The blocks' sums are combined in block order: the size changes the rounding.)
NORMALIZE_BLOCK_BYTES = 1 << 20

# ---- memory (runtime.memory) ------------------------------------------------------------------

# Distinct (shape, dtype) pairs the buffer pool keeps; the least recently used are dropped.
# A layer's op uses a few per batch size, and sees a few batch sizes (training, a last
# partial batch, evaluation).
BUFFER_POOL_MAX_KINDS = 64
