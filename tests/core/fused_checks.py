"""Shared by the fused-op tests: a fused op's values and gradients of first and second order."""

import numpy as np

import cnnlab as tf


def gradients(fn, inputs, seed=0):
    """[value, first-order gradients...] from one tape (the fused ops' NumPy backward), then
    [second-order gradients...] from nested tapes (their backward built from ops)."""
    variables = [tf.Variable(v) for v in inputs]
    probe = np.random.default_rng(seed).standard_normal(fn(*variables).shape)
    with tf.GradientTape() as tape:
        value = fn(*variables)
        loss = tf.reduce_sum(value * probe)
    first = [value.numpy()] + [g.numpy() for g in tape.gradient(loss, variables)]
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = tf.reduce_sum(fn(*variables) * probe)
        grads = inner.gradient(loss, variables)
        second = sum(tf.reduce_sum(g * g) for g in grads)
    for recorded, fast in zip(grads, first[1:]):  # the two backward paths agree
        np.testing.assert_allclose(recorded.numpy(), fast, rtol=1e-10)
    return first + [g.numpy() for g in outer.gradient(second, variables, unconnected_gradients="zero")]
