"""Run by test_faults.py under ``mpirun -n 2``: rank 1 fails at its third training step while rank 0 trains on.

Usage: mpirun -n 2 python faults.py raise|kill|exit
  raise: rank 1 raises an exception nobody catches;
  kill:  rank 1 is killed (SIGKILL), as by the out-of-memory killer;
  exit:  rank 1 calls cnnlab.runtime.mpi.abort(3), as the command does on an error.
Rank 0 would wait for rank 1 forever in the step's allreduce if the job did not stop.
"""

import os
import pathlib
import signal
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import scenarios  # noqa: E402

import cnnlab.distributed as hvd  # noqa: E402
from cnnlab import keras  # noqa: E402
from cnnlab.runtime import mpi  # noqa: E402


class FailOnRank1(keras.callbacks.Callback):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def on_train_batch_begin(self, batch, logs=None):
        if hvd.rank() != 1 or batch != 2:
            return
        if self.mode == "raise":
            raise RuntimeError("a deliberate failure in rank 1")
        if self.mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        mpi.abort(3)


def main(mode):
    hvd.init()
    x, y = scenarios.bars_data(2000)
    model = scenarios.compile_sgd(scenarios.plain_model(0), hvd.DistributedOptimizer)
    model.fit(x, y, batch_size=4, epochs=100, verbose=0, callbacks=[FailOnRank1(mode)])
    print("rank", hvd.rank(), "finished: the failure went unnoticed")


if __name__ == "__main__":
    main(sys.argv[1])
