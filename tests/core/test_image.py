"""``tf.image`` against PyTorch's interpolation (the same half-pixel rule), NumPy, and TF's documented formulas."""

import numpy as np
import pytest
import torch

import cnnlab as tf

rng = np.random.default_rng(11)


def torch_resize(images, size, mode):
    tensor = torch.tensor(images).permute(0, 3, 1, 2)
    arguments = {"align_corners": False} if mode == "bilinear" else {}
    return torch.nn.functional.interpolate(tensor, size=size, mode=mode, **arguments).permute(0, 2, 3, 1).numpy()


SIZES = [(9, 4), (3, 11), (5, 7), (10, 14), (2, 3), (1, 1), (20, 6)]


@pytest.mark.parametrize("size", SIZES)
def test_bilinear_resize_matches_half_pixel_interpolation(size):
    # PyTorch's bilinear with align_corners=False uses the same half-pixel centres as TF 2's resize.
    images = rng.uniform(0, 1, (2, 5, 7, 3)).astype(np.float32)
    resized = tf.image.resize(images, size)
    assert resized.dtype == np.float32 and resized.shape == (2, *size, 3)
    np.testing.assert_allclose(resized.numpy(), torch_resize(images, size, "bilinear"), atol=2e-7)


@pytest.mark.parametrize("size", SIZES)
def test_nearest_resize_matches_half_pixel_nearest(size):
    # TF's half-pixel nearest neighbour is floor((i + 0.5) * in / out): PyTorch's 'nearest-exact'.
    images = rng.integers(0, 255, (2, 5, 7, 3)).astype(np.uint8)
    resized = tf.image.resize(images, size, method="nearest")
    assert resized.dtype == np.uint8
    np.testing.assert_array_equal(resized.numpy(), torch_resize(images, size, "nearest-exact"))


def test_resize_by_hand_and_its_options():
    image = np.arange(4.0, dtype=np.float32).reshape(2, 2, 1)
    # The one output row reads input row (0 + 0.5) * 2 - 0.5 = 0.5, halfway between [0, 1] and [2, 3];
    # output column j reads (j + 0.5) / 2 - 0.5: -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    np.testing.assert_allclose(tf.image.resize(image, [1, 4])[..., 0].numpy(), [[1.0, 1.25, 1.75, 2.0]])
    assert tf.image.resize(np.zeros((3, 30, 60, 1), np.uint8), [10, 10], preserve_aspect_ratio=True).shape == (
        3,
        5,
        10,
        1,
    )
    assert tf.image.resize(np.zeros((4, 4, 3)), (2, 2)).dtype == np.float32  # bilinear always gives float32
    with pytest.raises(ValueError, match="image.resize: method must be 'bilinear' or 'nearest'"):
        tf.image.resize(image, [4, 4], method="bicubic")
    with pytest.raises(ValueError, match="expected images of shape"):
        tf.image.resize(np.zeros((4, 4)), [2, 2])


def test_flips_and_rotations_match_numpy():
    batch = rng.integers(0, 9, (2, 3, 4, 2))
    np.testing.assert_array_equal(tf.image.flip_left_right(batch).numpy(), batch[:, :, ::-1])
    np.testing.assert_array_equal(tf.image.flip_up_down(batch[0]).numpy(), batch[0, ::-1])
    for k in range(-1, 5):
        np.testing.assert_array_equal(tf.image.rot90(batch, k).numpy(), np.rot90(batch, k, axes=(1, 2)))
        np.testing.assert_array_equal(tf.image.rot90(batch[0], k).numpy(), np.rot90(batch[0], k, axes=(0, 1)))
    np.testing.assert_array_equal(tf.image.transpose(batch).numpy(), batch.transpose(0, 2, 1, 3))


def test_per_image_standardization_follows_tfs_formula():
    images = rng.uniform(0, 255, (2, 4, 5, 3)).astype(np.float32)
    result = tf.image.per_image_standardization(images).numpy()
    for image, standardized in zip(images, result):
        adjusted_std = max(image.std(), 1 / np.sqrt(image.size))
        np.testing.assert_allclose(standardized, (image - image.mean()) / adjusted_std, rtol=1e-4, atol=1e-5)
    flat = tf.image.per_image_standardization(np.full((2, 2, 1), 7, np.uint8))  # stddev 0: divided by 1/sqrt(4)
    assert flat.dtype == np.float32 and np.all(flat.numpy() == 0)


def test_grayscale_conversions():
    gray = rng.uniform(0, 1, (2, 3, 3, 1)).astype(np.float32)
    rgb = tf.image.grayscale_to_rgb(gray)
    assert rgb.shape == (2, 3, 3, 3) and np.all(rgb.numpy() == gray)
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [100, 150, 200]]], np.uint8)
    # TF: to float in [0, 1], the luma weights, then back to uint8 (times 255.5, truncated).
    luma = (pixels / 255.0).astype(np.float32) @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    expected = (luma * 255.5).astype(np.uint8)[..., None]
    converted = tf.image.rgb_to_grayscale(pixels)
    assert converted.dtype == np.uint8
    np.testing.assert_array_equal(converted.numpy(), expected)
    with pytest.raises(ValueError, match="the last axis must have size 3"):
        tf.image.rgb_to_grayscale(gray)


def test_convert_image_dtype_scales_as_tf():
    np.testing.assert_allclose(
        tf.image.convert_image_dtype(np.array([0, 128, 255], np.uint8), tf.float32).numpy(), [0, 128 / 255, 1]
    )
    np.testing.assert_array_equal(
        tf.image.convert_image_dtype(np.array([0.0, 0.5, 1.0], np.float32), tf.uint8).numpy(), [0, 127, 255]
    )
    np.testing.assert_array_equal(
        tf.image.convert_image_dtype(np.array([-0.5, 1.5], np.float32), tf.uint8, saturate=True).numpy(), [0, 255]
    )
    # Integers to integers scale by the ratio of the ranges.
    np.testing.assert_array_equal(
        tf.image.convert_image_dtype(np.array([0, 1, 255], np.uint8), tf.int32).numpy(), [0, 2**23, 255 * 2**23]
    )
    np.testing.assert_array_equal(
        tf.image.convert_image_dtype(np.array([0, 2**23, 2**31 - 1], np.int32), tf.uint8).numpy(), [0, 1, 255]
    )
    assert tf.image.convert_image_dtype(np.array([0.25], np.float32), tf.float64).dtype == np.float64


def test_crops_pads_and_adjustments():
    image = np.arange(48, dtype=np.float32).reshape(4, 6, 2)
    np.testing.assert_array_equal(tf.image.crop_to_bounding_box(image, 1, 2, 2, 3).numpy(), image[1:3, 2:5])
    padded = tf.image.pad_to_bounding_box(image, 1, 0, 6, 7).numpy()
    assert padded.shape == (6, 7, 2) and np.array_equal(padded[1:5, :6], image) and padded.sum() == image.sum()
    np.testing.assert_array_equal(tf.image.resize_with_crop_or_pad(image, 2, 8).numpy()[:, 1:7], image[1:3])
    np.testing.assert_array_equal(tf.image.central_crop(image, 0.5).numpy(), image[1:3, 1:5])
    np.testing.assert_allclose(tf.image.adjust_brightness(image / 48, 0.25).numpy(), image / 48 + 0.25, rtol=1e-6)
    contrast = tf.image.adjust_contrast(image, 2.0).numpy()
    mean = image.mean(axis=(0, 1))
    np.testing.assert_allclose(contrast, (image - mean) * 2 + mean, rtol=1e-6)


def test_random_flips_are_seeded_and_per_image():
    batch = rng.uniform(0, 1, (16, 3, 3, 1)).astype(np.float32)
    tf.random.set_seed(5)
    first = tf.image.random_flip_left_right(batch).numpy()
    tf.random.set_seed(5)
    again = tf.image.random_flip_left_right(batch).numpy()
    np.testing.assert_array_equal(first, again)
    flipped = [np.array_equal(f, b[:, ::-1]) for f, b in zip(first, batch)]
    kept = [np.array_equal(f, b) for f, b in zip(first, batch)]
    assert all(a or b for a, b in zip(flipped, kept)) and any(flipped) and any(kept)
