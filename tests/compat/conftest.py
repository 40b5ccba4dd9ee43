"""The compatibility corpus: programs written the way public TensorFlow / Keras guides write theirs.

Each ``*.py`` file here (other than ``test_*.py`` and this one) mirrors one public
tutorial or guide, named in its header: the same API calls in the same patterns,
written anew for the suite (not copied), on small generated arrays, asserting what
the guide shows.  ``test_corpus.py`` runs each program in-process with ``runpy``,
as ``python program.py`` would, after seeding cnnlab's random streams; a program
passes when it runs to its end.  Together they must stay within the suite's budget
(a few seconds each).
"""
