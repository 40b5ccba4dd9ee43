"""Converting any picture to a Fashion-MNIST-like 28x28 image (what `cnnlab predict` feeds the model)."""

import numpy as np
import pytest
from PIL import Image

from cnnlab.images import ImageError, load_image, to_fashion_mnist


def canvas(width, height, background, garment, box, mode="RGB"):
    """A picture of ``background`` colour with a ``garment``-coloured rectangle ``box`` = (left, top, right, bottom)."""
    image = Image.new(mode, (width, height), background)
    image.paste(garment, box)
    return image


def centre_of_mass(image):
    weights = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return (rows * weights).sum() / weights.sum(), (cols * weights).sum() / weights.sum()


def test_a_dark_garment_on_white_is_inverted_to_light_on_black():
    result = to_fashion_mnist(canvas(60, 40, (255, 255, 255), (20, 20, 20), (10, 5, 50, 35)))
    assert result.shape == (28, 28) and result.dtype == np.uint8
    # trimmed to the 40x30 garment, padded to 40x40: black bands above and below, garment in between
    assert result[0].max() <= 5 and result[-1].max() <= 5
    assert result[14].min() >= 225  # the middle row is all garment (235 after inversion)
    assert abs(int(result[14, 14]) - 235) <= 2


def test_a_picture_with_a_dark_background_is_kept():
    result = to_fashion_mnist(canvas(50, 50, 0, 200, (10, 10, 40, 40), mode="L"))
    assert abs(int(result[14, 14]) - 200) <= 2
    assert result.min() >= 195  # trimmed to the square garment, which then fills the frame


def test_no_invert_keeps_a_light_background_and_true_always_inverts():
    light = canvas(40, 40, (250, 250, 250), (30, 30, 30), (5, 5, 35, 35))
    kept = to_fashion_mnist(light, invert=False)
    assert abs(int(kept[14, 14]) - 30) <= 2
    dark = canvas(40, 40, 0, 220, (5, 5, 35, 35), mode="L")
    assert abs(int(to_fashion_mnist(dark, invert=True)[14, 14]) - 35) <= 2


def test_aspect_ratio_is_kept_and_the_garment_centred():
    # an 80x20 garment, far off-centre in a 300x200 picture
    result = to_fashion_mnist(canvas(300, 200, (255, 255, 255), (0, 0, 0), (5, 10, 85, 30)))
    bright_rows = np.flatnonzero(result.max(axis=1) > 128)
    assert 6 <= len(bright_rows) <= 8  # 28 * 20 / 80 = 7 rows
    assert result[bright_rows].min(axis=0).min() > 128  # ... spanning the full width
    row, col = centre_of_mass(result)
    assert abs(row - 13.5) < 0.6 and abs(col - 13.5) < 0.6


def test_colour_is_turned_into_luminance():
    red_on_white = canvas(30, 30, (255, 255, 255), (255, 0, 0), (5, 5, 25, 25))
    # ITU-R 601 luma of pure red is 76; inverted, 179
    assert abs(int(to_fashion_mnist(red_on_white)[14, 14]) - 179) <= 2


def test_transparent_background_counts_as_white():
    image = canvas(40, 40, (0, 0, 0, 0), (10, 10, 10, 255), (10, 5, 30, 35), mode="RGBA")  # 20 wide, 30 high
    result = to_fashion_mnist(image)
    assert result[14, 14] >= 240 and result[:, 0].max() <= 5


@pytest.mark.parametrize("size", [(1, 1), (3, 1000), (997, 13), (28, 28), (2000, 1500)])
def test_any_size_gives_28_by_28(size):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, size[::-1], dtype=np.uint8), mode="L")
    result = to_fashion_mnist(image)
    assert result.shape == (28, 28) and result.dtype == np.uint8


def test_files_in_every_common_format(tmp_path):
    base = canvas(64, 48, (255, 255, 255), (0, 0, 0), (16, 8, 40, 40))  # 24 wide, 32 high
    base.save(tmp_path / "photo.jpg", quality=90)
    base.convert("L").save(tmp_path / "grey.png")
    base.convert("P").save(tmp_path / "palette.png")
    sixteen = (np.asarray(base.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "sixteen-bit.png")
    for name in ("photo.jpg", "grey.png", "palette.png", "sixteen-bit.png"):
        result = load_image(tmp_path / name)
        assert result.shape == (28, 28), name
        assert result[14, 14] >= 240 and result[:, 0].max() <= 10, name  # light garment, dark background


def test_exif_rotation_is_applied(tmp_path):
    upright = canvas(40, 80, (255, 255, 255), (0, 0, 0), (10, 5, 30, 75))  # a tall garment
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "rotated.jpg", exif=exif)
    result = load_image(tmp_path / "rotated.jpg")
    columns = np.flatnonzero(result.max(axis=0) > 128)
    assert len(columns) < 14  # tall again: narrower than high


def test_unreadable_files_name_the_file(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    canvas(30, 30, 0, 255, (5, 5, 25, 25)).save(tmp_path / "cut.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "cut.png").read_bytes()[:60])
    (tmp_path / "folder").mkdir()
    cases = {
        "missing.png": "no such file",
        "folder": "is a directory",
        "notes.png": "not an image Pillow can read",
        "cut.png": "damaged image",
    }
    for name, message in cases.items():
        with pytest.raises(ImageError, match=message) as info:
            load_image(tmp_path / name)
        assert str(tmp_path / name) in str(info.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"invert must be 'auto', True or False; Received: invert='yes'"):
        to_fashion_mnist(np.zeros((5, 5)), invert="yes")
    with pytest.raises(ValueError, match=r"Received: array of shape \(5, 5, 2\)"):
        to_fashion_mnist(np.zeros((5, 5, 2)))


def test_arrays_are_accepted_like_pictures():
    array = np.full((20, 20, 3), 255, dtype=np.uint8)
    array[5:15, 5:15] = 0
    from_array = to_fashion_mnist(array)
    from_image = to_fashion_mnist(Image.fromarray(array))
    np.testing.assert_array_equal(from_array, from_image)
    assert from_array[14, 14] == 255


def test_an_image_too_large_to_decode_safely_is_refused(tmp_path, monkeypatch):
    Image.new("L", (100, 100)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses more than twice this
    with pytest.raises(ImageError, match=r"bomb.png: Image size \(10000 pixels\) exceeds limit"):
        load_image(tmp_path / "bomb.png")
