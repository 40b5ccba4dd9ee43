"""Differentiable ops: each op's forward value and its gradient, side by side."""
