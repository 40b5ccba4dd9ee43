"""Converting any picture to a Fashion-MNIST-like 28x28 image (what `cnnlab predict` feeds the model)."""

import io
import struct
import tracemalloc
import warnings

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli.images import WORKING_SIZE, ImageError, ImageWarning, load_image, to_fashion_mnist


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


@pytest.fixture
def no_warning_escapes():
    """Fails the test if any warning but an ImageWarning is issued (Pillow's, NumPy's)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    assert [w for w in caught if not issubclass(w.category, ImageWarning)] == []


def wide_garment(width, height, scale):
    """A dark band across nearly the whole width and the middle 80% of the height, its edges at multiples of ``scale``."""
    margin = height // 10 * scale
    return canvas(
        width * scale, height * scale, 250, 40, (scale, margin, (width - 1) * scale, height * scale - margin), "L"
    )


def test_a_huge_picture_is_shrunk_before_it_is_padded(tmp_path, no_warning_escapes):
    # 20000x4000, a 78 KB PNG: trimmed to 19960 wide, it was padded to a 19960^2 float32 square (1.6 GB).
    wide_garment(1000, 200, 20).save(tmp_path / "huge.png", optimize=True)
    tracemalloc.start()
    try:
        result = load_image(tmp_path / "huge.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20  # NumPy's arrays (Pillow's decoded picture is 80 MB, once, outside tracemalloc)
    # the same picture at a tenth of the size reduces to the same 1000x200 pixels, so gives the same image
    np.testing.assert_array_equal(result, to_fashion_mnist(wide_garment(1000, 200, 2)))
    assert result[14].min() >= 200 and result[0].max() <= 5  # a light band across, dark above


def transparent_palette(picture):
    palette = picture.convert("P")
    palette.info["transparency"] = 0
    return palette


@pytest.mark.parametrize(
    "in_mode, plain",
    [
        (lambda big: big.convert("P"), lambda picture: picture.convert("RGB")),
        (transparent_palette, lambda picture: picture.convert("RGBA")),
        (lambda big: big.convert("1"), lambda picture: picture.convert("L")),
        (lambda big: Image.fromarray(np.asarray(big, np.uint16) * 257), lambda picture: picture.convert("I")),
    ],
    ids=["palette", "palette-with-transparency", "bilevel", "16-bit"],
)
def test_large_pictures_of_every_mode_are_shrunk_like_their_plain_form(in_mode, plain, no_warning_escapes):
    picture = in_mode(wide_garment(WORKING_SIZE // 40, 10, 80))  # 2000x800: reduced 2 times
    result = to_fashion_mnist(picture)
    np.testing.assert_array_equal(result, to_fashion_mnist(plain(picture)))
    assert result[14, 2:-2].min() >= 150 and result[0].max() <= 5  # a light band across (dithered if bilevel)


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(tmp_path, monkeypatch, no_warning_escapes):
    photo = canvas(4000, 3000, (250, 250, 250), (30, 30, 30), (1500, 500, 2500, 2500))  # a garment twice as high
    photo.save(tmp_path / "photo.jpg")
    photo.save(tmp_path / "photo.png")
    # 12 million pixels, between the limit and twice the limit (above which Image.open itself refuses):
    # the JPEG is decoded at a quarter of its size (750,000 pixels), the PNG would need all 12 million.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 7_000_000)
    result = load_image(tmp_path / "photo.jpg")
    assert result[14, 14] >= 200 and result[14, 0] <= 5
    with pytest.raises(ImageError) as info:
        load_image(tmp_path / "photo.png")
    assert str(info.value) == (
        f"{tmp_path / 'photo.png'}: too large to decode safely: 4000x3000 is 12000000 pixels, "
        "more than PIL.Image.MAX_IMAGE_PIXELS (7000000)"
    )


def test_an_image_too_large_to_decode_safely_is_refused(tmp_path, monkeypatch, no_warning_escapes):
    Image.new("L", (100, 100)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Image.open refuses more than twice this
    with pytest.raises(ImageError) as info:
        load_image(tmp_path / "bomb.png")
    assert str(info.value) == (
        f"{tmp_path / 'bomb.png'}: too large to decode safely: Image size (10000 pixels) exceeds limit of 2000 "
        "pixels, could be decompression bomb DOS attack."
    )
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # Image.open only warns, and the warning does not escape
    with pytest.raises(ImageError, match=r"100x100 is 10000 pixels, more than PIL.Image.MAX_IMAGE_PIXELS \(6000\)"):
        load_image(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # Pillow's way of saying: no limit
    assert load_image(tmp_path / "bomb.png").shape == (28, 28)


def jpeg_with_damaged_exif():
    """A JPEG whose EXIF names a 10-byte Make string stored beyond the end of the EXIF block."""
    header = struct.pack("<2sHI", b"II", 42, 8)
    entry = struct.pack("<HHHI4s", 1, 0x010F, 2, 10, struct.pack("<I", 4000))  # one entry: tag, type, count, offset
    buffer = io.BytesIO()
    canvas(40, 30, (250, 250, 250), (20, 20, 20), (10, 5, 30, 25)).save(
        buffer, "JPEG", exif=b"Exif\x00\x00" + header + entry + struct.pack("<I", 0)
    )
    return buffer.getvalue()


def test_damaged_exif_gives_one_warning_naming_the_file(tmp_path, no_warning_escapes):
    (tmp_path / "photo.jpg").write_bytes(jpeg_with_damaged_exif())
    result = load_image(tmp_path / "photo.jpg")
    assert result[14, 14] >= 200  # the picture was still read
    messages = [str(w.message) for w in no_warning_escapes]
    assert len(messages) == 1 and messages[0].startswith(
        f"{tmp_path / 'photo.jpg'}: partly damaged, read anyway (Pillow: "
    )


def test_nan_pixels_are_an_error_not_a_numpy_warning(tmp_path, no_warning_escapes):
    values = np.full((30, 30), 100.0, np.float32)
    values[3, 4] = np.nan
    values[5, 6] = np.inf
    Image.fromarray(values, mode="F").save(tmp_path / "nan.tif")
    with pytest.raises(ImageError) as info:
        load_image(tmp_path / "nan.tif")
    assert str(info.value) == (
        f"{tmp_path / 'nan.tif'}: the image holds NaN or infinite pixel values (2 of 900); expected finite numbers"
    )
    with pytest.raises(ValueError, match=r"NaN or infinite pixel values \(2 of 900\)"):
        to_fashion_mnist(values)
    values[3, 4] = values[5, 6] = 200.0
    Image.fromarray(values, mode="F").save(tmp_path / "finite.tif")
    assert load_image(tmp_path / "finite.tif").shape == (28, 28)
