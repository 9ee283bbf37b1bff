"""The image component: resize, crop, concat, draw results; ``:width``/``:height``."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from pipelines.components import default_registry
from pipelines.components.image import COMPONENT, OCR_BOX_COLOUR, PALETTE
from pipelines.engine import File, execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.values import ATTRIBUTES


def make_image(
    size: tuple[int, int] = (40, 30),
    colour: tuple[int, ...] = (10, 20, 30),
    *,
    fmt: str = "PNG",
    mode: str = "RGB",
    filename: str | None = "photo.png",
) -> File:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=fmt)
    mime = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}[fmt]
    return File(buffer.getvalue(), mime_type=mime, filename=filename)


def decode(file: Any) -> Image.Image:
    assert isinstance(file, File)
    image = Image.open(io.BytesIO(file.read()))
    image.load()
    return image


def run(task: str, input: dict[str, Any]) -> dict[str, Any]:
    return COMPONENT.tasks[task].run(input, TaskContext(component_id="x", task=task))  # type: ignore[return-value]


def pixels(image: Image.Image) -> list[Any]:
    return [image.getpixel((x, y)) for y in range(image.height) for x in range(image.width)]


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 8) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def test_every_task_is_blocking_and_named_as_instill() -> None:
    """The tasks carry Instill's names and run in the thread pool."""
    assert set(COMPONENT.tasks) == {
        "TASK_RESIZE",
        "TASK_CROP",
        "TASK_CONCAT",
        "TASK_DRAW_CLASSIFICATION",
        "TASK_DRAW_DETECTION",
        "TASK_DRAW_OCR",
    }
    assert all(task.blocking for task in COMPONENT.tasks.values())
    assert "image" in default_registry()


# --- resize ----------------------------------------------------------------------


def test_resize_by_ratio_outputs_png_file() -> None:
    """A ratio scales both sides; a PNG input gives a PNG File with a derived name."""
    out = run("TASK_RESIZE", {"image": make_image((40, 30)), "ratio": 0.5})["image"]
    assert out.mime_type == "image/png" and out.filename == "photo-resized.png"
    image = decode(out)
    assert image.format == "PNG" and image.size == (20, 15)


def test_resize_ratio_wins_over_width_and_height_and_may_enlarge() -> None:
    """As in Instill, ratio beats width/height; ratios above 1 enlarge."""
    out = run("TASK_RESIZE", {"image": make_image((40, 30)), "ratio": 2, "width": 5, "height": 5})
    assert decode(out["image"]).size == (80, 60)


def test_resize_by_width_keeps_aspect_and_by_both_is_exact() -> None:
    """Width alone keeps the aspect ratio; height alone too; both set the exact size."""
    img = make_image((40, 20))
    assert decode(run("TASK_RESIZE", {"image": img, "width": 20})["image"]).size == (20, 10)
    assert decode(run("TASK_RESIZE", {"image": img, "height": 40})["image"]).size == (80, 40)
    assert decode(run("TASK_RESIZE", {"image": img, "width": 7, "height": 9})["image"]).size == (7, 9)


def test_resize_keeps_jpeg_and_accepts_data_uri_and_base64() -> None:
    """JPEG in, JPEG out; data-URI and raw base64 strings are accepted as images."""
    jpeg = make_image((40, 30), fmt="JPEG", filename="cat.jpg")
    out = run("TASK_RESIZE", {"image": jpeg.data_uri(), "width": 20})["image"]
    assert out.mime_type == "image/jpeg" and out.filename == "cat-resized.jpg"
    assert decode(out).format == "JPEG" and decode(out).size == (20, 15)
    out = run("TASK_RESIZE", {"image": make_image().base64(), "width": 10})["image"]
    assert out.mime_type == "image/png" and out.filename == "image-resized.png"


def test_resize_palette_image_is_resampled() -> None:
    """Palette (GIF) inputs are converted before resampling and come out as PNG."""
    gif = make_image((10, 10), colour=3, fmt="GIF", mode="P", filename="a.gif")
    out = run("TASK_RESIZE", {"image": gif, "width": 20})["image"]
    assert out.mime_type == "image/png" and decode(out).size == (20, 20)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ratio": -1}, "ratio"),
        ({"width": -3}, "greater than or equal to 0"),
        ({"ratio": 0.001}, "at least 1"),
        ({"width": 100_000, "height": 100_000}, "at most"),
        ({"width": 1.5}, "must be an integer"),
    ],
)
def test_resize_rejects_bad_sizes(fields: dict[str, Any], message: str) -> None:
    """Negative, degenerate, huge or fractional sizes are component errors."""
    with pytest.raises(ComponentError, match=message):
        run("TASK_RESIZE", {"image": make_image(), **fields})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (File(b"hello, not an image", mime_type="text/plain"), "not a readable image"),
        ("!!! not base64 !!!", "not a data URI or base64"),
        (None, "missing"),
        (42, "must be an image file"),
    ],
)
def test_non_images_are_component_errors(value: Any, message: str) -> None:
    """Text, garbage strings, a missing or non-file image fail with a clear message."""
    with pytest.raises(ComponentError, match=message):
        run("TASK_RESIZE", {"image": value, "ratio": 0.5})


# --- crop ------------------------------------------------------------------------


def test_crop_offsets_cut_the_rectangle() -> None:
    """Offsets remove pixels from each side; the kept region is the original's."""
    source = Image.new("RGB", (40, 30), (0, 0, 0))
    source.putpixel((5, 2), (255, 0, 0))
    buffer = io.BytesIO()
    source.save(buffer, format="PNG")
    out = run(
        "TASK_CROP",
        {"image": File(buffer.getvalue()), "top-offset": 2, "right-offset": 10, "bottom-offset": 3, "left-offset": 5},
    )["image"]
    image = decode(out)
    assert image.size == (25, 25)
    assert image.getpixel((0, 0)) == (255, 0, 0)


def test_crop_circle_makes_corners_transparent_png_even_for_jpeg() -> None:
    """A circle crop keeps the centre, clears the corners, and outputs PNG with alpha."""
    jpeg = make_image((40, 30), colour=(200, 50, 50), fmt="JPEG", filename="c.jpg")
    out = run("TASK_CROP", {"image": jpeg, "circle-radius": 1000})["image"]
    assert out.mime_type == "image/png" and out.filename == "c-cropped.png"
    image = decode(out).convert("RGBA")
    assert image.size == (40, 30)
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((20, 15))[3] == 255
    assert image.getpixel((2, 15))[3] == 0  # radius clamped to 15: left edge is outside


def test_crop_corner_radius_rounds_only_the_corners() -> None:
    """Rounded corners are transparent; edge midpoints stay opaque."""
    out = run("TASK_CROP", {"image": make_image((40, 30)), "corner-radius": 10})["image"]
    image = decode(out).convert("RGBA")
    assert image.getpixel((0, 0))[3] == 0 and image.getpixel((39, 29))[3] == 0
    assert image.getpixel((20, 0))[3] == 255 and image.getpixel((0, 15))[3] == 255


def test_crop_rejects_offsets_that_leave_nothing() -> None:
    """Offsets meeting or crossing each other, or negative, are an error."""
    with pytest.raises(ComponentError, match="Invalid crop dimensions"):
        run("TASK_CROP", {"image": make_image((40, 30)), "left-offset": 20, "right-offset": 20})
    with pytest.raises(ComponentError, match="Invalid crop dimensions"):
        run("TASK_CROP", {"image": make_image((40, 30)), "top-offset": -1})


# --- concat ----------------------------------------------------------------------

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]


def test_concat_default_square_grid() -> None:
    """Four 10×8 images without a grid size form a 2×2 grid in order."""
    images = [make_image((10, 8), c) for c in COLOURS[:4]]
    image = decode(run("TASK_CONCAT", {"images": images})["image"]).convert("RGB")
    assert image.size == (20, 16)
    assert image.getpixel((2, 2)) == COLOURS[0]
    assert image.getpixel((12, 2)) == COLOURS[1]
    assert image.getpixel((2, 10)) == COLOURS[2]
    assert image.getpixel((12, 10)) == COLOURS[3]


def test_concat_grid_width_and_padding() -> None:
    """grid-width 3 with five images gives 2 rows; padding separates cells (transparent)."""
    images = [make_image((10, 8), c) for c in COLOURS]
    out = run("TASK_CONCAT", {"images": images, "grid-width": 3, "padding": 2, "grid-height": 7})["image"]
    assert out.mime_type == "image/png"
    image = decode(out).convert("RGBA")
    assert image.size == (3 * 10 + 2 * 2, 2 * 8 + 2)
    assert image.getpixel((11, 0))[3] == 0  # padding column
    assert image.getpixel((24, 2))[:3] == COLOURS[2]
    assert image.getpixel((12, 12))[:3] == COLOURS[4]
    assert image.getpixel((30, 12))[3] == 0  # empty last cell


def test_concat_grid_height_as_one_column_and_strings() -> None:
    """grid-height alone fixes rows; data-URI strings are accepted; all-JPEG stays JPEG."""
    images = [make_image((6, 4), c, fmt="JPEG").data_uri() for c in COLOURS[:3]]
    out = run("TASK_CONCAT", {"images": images, "grid-height": 3})["image"]
    assert out.mime_type == "image/jpeg"
    image = decode(out)
    assert image.size == (6, 12)
    assert close(image.getpixel((3, 10)), COLOURS[2], tolerance=30)


def test_concat_errors() -> None:
    """An empty list, a bad item or negative padding are component errors naming the problem."""
    with pytest.raises(ComponentError, match="non-empty array"):
        run("TASK_CONCAT", {"images": []})
    with pytest.raises(ComponentError, match="image 1"):
        run("TASK_CONCAT", {"images": [make_image(), File(b"nope", mime_type="text/plain")]})
    with pytest.raises(ComponentError, match="padding"):
        run("TASK_CONCAT", {"images": [make_image()], "padding": -1})


# --- drawing ---------------------------------------------------------------------

WHITE = (255, 255, 255)


def test_draw_classification_labels_the_top_left_corner() -> None:
    """A black label box with the category is drawn top-left; the rest is untouched."""
    out = run(
        "TASK_DRAW_CLASSIFICATION",
        {"image": make_image((200, 100), WHITE), "category": "golden retriever", "score": 0.97, "show-score": True},
    )["image"]
    assert out.filename == "photo-classification.png"
    image = decode(out).convert("RGB")
    assert image.size == (200, 100)
    assert image.getpixel((3, 3)) == (0, 0, 0)
    # White text pixels inside the black label.
    label = image.crop((2, 2, 60, 22))
    assert any(pixel == WHITE for pixel in pixels(label))
    assert image.getpixel((150, 80)) == WHITE


def test_draw_detection_boxes_use_one_colour_per_category() -> None:
    """Box edges take the category's palette colour; the same category reuses it."""
    objects = [
        {"bounding-box": {"left": 20, "top": 60, "width": 80, "height": 50}, "category": "dog", "score": 0.9},
        {"bounding-box": {"left": 120, "top": 60, "width": 60, "height": 60}, "category": "cat", "score": 0.8},
        {"bounding-box": {"left": 20, "top": 140, "width": 40, "height": 40}, "category": "dog", "score": 0.7},
    ]
    out = run("TASK_DRAW_DETECTION", {"image": make_image((200, 200), WHITE), "objects": objects, "show-score": True})
    image = decode(out["image"]).convert("RGB")
    assert image.getpixel((20, 85)) == PALETTE[0]  # left edge of the first dog
    assert image.getpixel((100, 85)) == PALETTE[0]  # right edge
    assert image.getpixel((60, 110)) == PALETTE[0]  # bottom edge
    assert image.getpixel((120, 90)) == PALETTE[1]  # cat
    assert image.getpixel((20, 160)) == PALETTE[0]  # second dog, same colour
    assert image.getpixel((60, 85)) == WHITE  # inside the box
    # The label sits above the first box: darkened (semi-transparent black) pixels.
    above = image.crop((16, 30, 80, 58))
    assert any(pixel[0] < 200 for pixel in pixels(above))


def test_draw_detection_keeps_jpeg_and_allows_no_objects() -> None:
    """No objects gives the image back; JPEG stays JPEG."""
    jpeg = make_image((30, 30), fmt="JPEG")
    out = run("TASK_DRAW_DETECTION", {"image": jpeg, "objects": []})["image"]
    assert out.mime_type == "image/jpeg" and decode(out).size == (30, 30)


def test_draw_ocr_draws_boxes_and_text() -> None:
    """Each OCR box is outlined and its text is drawn at its top-left inside the box."""
    objects = [{"bounding-box": {"left": 10, "top": 10, "width": 150, "height": 40}, "text": "HELLO", "score": 0.99}]
    out = run("TASK_DRAW_OCR", {"image": make_image((200, 100), WHITE), "objects": objects})
    image = decode(out["image"]).convert("RGB")
    assert image.getpixel((10, 30)) == OCR_BOX_COLOUR
    assert image.getpixel((159, 30)) == OCR_BOX_COLOUR
    assert image.getpixel((80, 49)) == OCR_BOX_COLOUR
    inside = image.crop((14, 14, 80, 40))
    assert any(pixel[0] < 200 for pixel in pixels(inside))  # the label background
    assert image.getpixel((120, 80)) == WHITE


def test_draw_keeps_transparency_of_rgba_inputs() -> None:
    """An RGBA input keeps its alpha channel after drawing."""
    rgba = make_image((50, 50), (0, 0, 0, 0), mode="RGBA")
    objects = [{"bounding-box": {"left": 5, "top": 5, "width": 30, "height": 30}, "category": "x", "score": 1}]
    image = decode(run("TASK_DRAW_DETECTION", {"image": rgba, "objects": objects})["image"])
    assert image.mode == "RGBA"
    assert image.getpixel((45, 45))[3] == 0 and image.getpixel((5, 20)) == (*PALETTE[0], 255)


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ("nope", "must be an array"),
        ([{"category": "a", "score": 1}], r"objects\[0\] has no `bounding-box`"),
        ([{"bounding-box": {"left": 0, "top": 0, "width": "w", "height": 1}}], r"bounding-box.width must be a number"),
        ([{"bounding-box": {"left": 0, "top": 0, "width": -1, "height": 1}}], "negative"),
    ],
)
def test_draw_rejects_malformed_objects(objects: Any, message: str) -> None:
    """Malformed detection objects are component errors pointing at the object."""
    with pytest.raises(ComponentError, match=message):
        run("TASK_DRAW_DETECTION", {"image": make_image(), "objects": objects})


# --- attributes and the engine ---------------------------------------------------


def test_width_and_height_attributes() -> None:
    """``:width``/``:height`` read the header of Files and image data URIs; non-images fail."""
    img = make_image((37, 21))
    assert ATTRIBUTES["width"](img) == 37 and ATTRIBUTES["height"](img) == 21
    assert ATTRIBUTES["width"](img.data_uri()) == 37
    with pytest.raises(ValueError, match="not a readable image"):
        ATTRIBUTES["width"](File(b"plain text", mime_type="text/plain"))
    with pytest.raises(TypeError):
        ATTRIBUTES["height"](12)


def test_width_attribute_reads_spooled_files(tmp_path) -> None:
    """A File on disk is measured from its path."""
    path = tmp_path / "p.png"
    Image.new("RGB", (13, 7)).save(path)
    assert ATTRIBUTES["width"](File(path=path)) == 13 and ATTRIBUTES["height"](File(path=path)) == 7


async def test_recipe_resizes_an_image_variable() -> None:
    """A recipe binds an image variable from a data URI, resizes it and reads ``:width``."""
    registry = default_registry()
    recipe = parse_recipe(
        {
            "variable": {"photo": {"type": "image"}},
            "component": {
                "small": {
                    "type": "image",
                    "task": "TASK_RESIZE",
                    "input": {"image": "${variable.photo}", "ratio": 0.5},
                },
            },
            "output": {
                "image": {"value": "${small.output.image}"},
                "width": {"value": "${small.output.image:width}"},
                "original-height": {"value": "${variable.photo:height}"},
            },
        },
        registry=registry,
    )
    photo = make_image((64, 48)).data_uri()
    result = await execute(recipe, recipe.bind_rows([{"photo": photo}]), registry=registry)
    assert not result.failed, result.error_message
    outputs = result.rows[0].outputs
    assert isinstance(outputs["image"], File) and outputs["image"].mime_type == "image/png"
    assert decode(outputs["image"]).size == (32, 24)
    assert outputs["width"] == 32 and outputs["original-height"] == 48
    assert result.outputs_json()[0]["image"].startswith("data:image/png;")
