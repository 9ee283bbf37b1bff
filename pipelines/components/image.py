"""The ``image`` operator: resize, crop, concatenate and draw vision results
(Instill ``image`` v0).

Images arrive as :class:`~pipelines.engine.values.File` values (data URIs and
raw base64 strings are accepted too) and leave as ``File`` values: PNG, or JPEG
when the input was JPEG and the result needs no transparency. All Pillow work
is ``blocking`` so it runs in the task processes. Pillow is imported by the tasks
that use it, on their first call: registering the component imports schemas only.

Also registers the ``:width`` and ``:height`` reference attributes for images
(``${variable.photo:width}``); they read only the image header.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any

from pipelines.components._images import check_size, image_file, image_size, load_image
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext
from pipelines.engine.values import register_attribute

if TYPE_CHECKING:
    from PIL import Image, ImageFont

# --- schemas ----------------------------------------------------------------------

_IMAGE = {"title": "Image", "description": "Input image.", "instillAcceptFormats": ["image/*"]}
_SHOW_SCORE = {
    "type": "boolean",
    "title": "Show Score",
    "description": "Show model confidence score on each instance.",
}
_BOUNDING_BOX = {
    "type": "object",
    "title": "Bounding Box",
    "description": "The detected bounding box in (left, top, width, height) format.",
    "properties": {
        "left": {"type": "number", "title": "Left"},
        "top": {"type": "number", "title": "Top"},
        "width": {"type": "number", "title": "Width"},
        "height": {"type": "number", "title": "Height"},
    },
    "required": ["left", "top", "width", "height"],
}
_SCORE = {"type": "number", "title": "Score", "description": "The confidence score."}
OUTPUT = {
    "type": "object",
    "title": "Output",
    "properties": {"image": {"title": "Image", "description": "Output image.", "instillFormat": "image/png"}},
    "required": ["image"],
}


def _integer(title: str, description: str) -> dict[str, Any]:
    return {"type": "integer", "title": title, "description": description}


def _input(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "title": "Input", "properties": properties, "required": required}


RESIZE_INPUT = _input(
    {
        "image": _IMAGE,
        "ratio": {
            "type": "number",
            "title": "Ratio",
            "description": "Resize ratio (e.g., 0.5 for half size, 2 for double size) to resize the image. "
            "If ratio is provided, width and height will be ignored.",
        },
        "width": _integer("Width", "Width of the output image."),
        "height": _integer("Height", "Height of the output image."),
    },
    ["image"],
)
CROP_INPUT = _input(
    {
        "image": _IMAGE,
        "corner-radius": _integer(
            "Corner Radius",
            "Radius from the corner of the image to crop the image. If `circle-radius` is provided, "
            "`corner-radius` is ignored. Limited to half of min(width, height).",
        ),
        "circle-radius": _integer(
            "Circle Radius",
            "Radius from the center of the circle to crop the image. Limited to half of min(width, height).",
        ),
        "top-offset": _integer("Top Offset", "Top offset of the crop."),
        "right-offset": _integer("Right Offset", "Right offset of the crop."),
        "bottom-offset": _integer("Bottom Offset", "Bottom offset of the crop."),
        "left-offset": _integer("Left Offset", "Left offset of the crop."),
    },
    ["image"],
)
CONCAT_INPUT = _input(
    {
        "images": {"type": "array", "title": "Images", "description": "Input images."},
        "grid-width": _integer("Grid Width", "Grid width. If `grid-width` is provided, `grid-height` will be ignored."),
        "grid-height": _integer(
            "Grid Height", "Grid height. If `grid-height` is provided, `grid-width` will be ignored."
        ),
        "padding": _integer("Padding", "Padding between images."),
    },
    ["images"],
)
DRAW_CLASSIFICATION_INPUT = _input(
    {
        "image": _IMAGE,
        "category": {"type": "string", "title": "Category", "description": "The predicted category of the input."},
        "score": _SCORE,
        "show-score": _SHOW_SCORE,
    },
    ["image", "category", "score"],
)


def _objects(item_properties: dict[str, Any], required: list[str], description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "title": "Objects",
        "description": description,
        "items": {"type": "object", "title": "Object", "properties": item_properties, "required": required},
    }


DRAW_DETECTION_INPUT = _input(
    {
        "image": _IMAGE,
        "objects": _objects(
            {
                "bounding-box": _BOUNDING_BOX,
                "category": {"type": "string", "title": "Category"},
                "score": _SCORE,
            },
            ["bounding-box", "category", "score"],
            "A list of detected objects.",
        ),
        "show-score": _SHOW_SCORE,
    },
    ["image", "objects"],
)
DRAW_OCR_INPUT = _input(
    {
        "image": _IMAGE,
        "objects": _objects(
            {
                "bounding-box": _BOUNDING_BOX,
                "text": {"type": "string", "title": "Text"},
                "score": _SCORE,
            },
            ["bounding-box", "text", "score"],
            "A list of detected bounding boxes.",
        ),
        "show-score": _SHOW_SCORE,
    },
    ["image", "objects"],
)

# --- helpers ----------------------------------------------------------------------

# The yolov7 palette Instill's image operator uses; one colour per category.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 128, 0), (255, 153, 51), (255, 178, 102), (230, 230, 0), (255, 153, 255),
    (153, 204, 255), (255, 102, 255), (255, 51, 255), (102, 178, 255), (51, 153, 255),
    (255, 153, 153), (255, 102, 102), (255, 51, 51), (153, 255, 153), (102, 255, 102),
    (51, 255, 51), (0, 255, 0), (0, 0, 255), (255, 0, 0), (255, 255, 255),
)  # fmt: skip
OCR_BOX_COLOUR = (0, 255, 0)
BOX_WIDTH = 3
LABEL_BACKGROUND = (0, 0, 0, 128)
TEXT_COLOUR = (255, 255, 255, 255)
PADDING = 2


def _int(input: dict[str, Any], key: str) -> int:
    """An optional integer field; absent means 0, like Instill's Go zero values."""
    value = input.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise ComponentError(f"`{key}` must be an integer, got {value!r}.")
    return int(value)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ComponentError(f"{what} must be a number, got {value!r}.")
    return float(value)


def _workable(image: Image.Image) -> Image.Image:
    """``image`` in a mode Pillow can resample and composite (RGB, RGBA or L)."""
    if image.mode in ("RGB", "RGBA", "L"):
        return image
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


@cache
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=20)


# --- tasks ------------------------------------------------------------------------


def resize(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    ratio = input.get("ratio")
    ratio = 0.0 if ratio is None else _number(ratio, "`ratio`")
    width, height = _int(input, "width"), _int(input, "height")
    if ratio < 0:
        raise ComponentError(f"`ratio` must be greater than 0, got {ratio:g}.")
    if width < 0 or height < 0:
        raise ComponentError("`width` and `height` must be greater than or equal to 0.")
    image, source = load_image(input.get("image"))
    w, h = image.size
    if ratio > 0:
        new = (int(w * ratio), int(h * ratio))
    elif width > 0 and height > 0:
        new = (width, height)
    elif width > 0:
        new = (width, int(width * h / w))
    elif height > 0:
        new = (int(height * w / h), height)
    else:
        new = (w, h)
    check_size(*new)
    if new != (w, h):
        from PIL import Image

        image = _workable(image).resize(new, Image.Resampling.LANCZOS)
    return {"image": image_file(image, source=source, suffix="resized")}


def crop(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    top, right = _int(input, "top-offset"), _int(input, "right-offset")
    bottom, left = _int(input, "bottom-offset"), _int(input, "left-offset")
    corner, circle = _int(input, "corner-radius"), _int(input, "circle-radius")
    image, source = load_image(input.get("image"))
    w, h = image.size
    x1, y1, x2, y2 = left, top, w - right, h - bottom
    if min(top, right, bottom, left) < 0 or x1 >= x2 or y1 >= y2:
        raise ComponentError(
            f"Invalid crop dimensions: offsets (top {top}, right {right}, bottom {bottom}, left {left}) "
            f"leave nothing of a {w}×{h} image."
        )
    cropped = _workable(image).crop((x1, y1, x2, y2))
    if circle <= 0 and corner <= 0:
        return {"image": image_file(cropped, source=source, suffix="cropped")}
    from PIL import Image, ImageDraw

    cw, ch = cropped.size
    mask = Image.new("L", cropped.size, 0)
    draw = ImageDraw.Draw(mask)
    if circle > 0:
        radius = min(circle, min(cw, ch) // 2)
        cx, cy = cw // 2, ch // 2
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    else:
        radius = min(corner, min(cw, ch) // 2)
        draw.rounded_rectangle((0, 0, cw - 1, ch - 1), radius=radius, fill=255)
    result = cropped.convert("RGBA")
    result.putalpha(Image.composite(result.getchannel("A"), mask, mask))
    # Transparent corners need PNG even when the input was JPEG.
    return {"image": image_file(result, source=source, suffix="cropped", keep_jpeg=False)}


def concat(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    values = input.get("images")
    if not isinstance(values, list | tuple) or not values:
        raise ComponentError("`images` must be a non-empty array of images.")
    grid_width, grid_height, padding = _int(input, "grid-width"), _int(input, "grid-height"), _int(input, "padding")
    if grid_width < 0 or grid_height < 0 or padding < 0:
        raise ComponentError("`grid-width`, `grid-height` and `padding` must be greater than or equal to 0.")
    loaded = [load_image(value, what=f"image {i}") for i, value in enumerate(values)]
    count = len(loaded)
    if grid_width > 0:
        columns, rows = grid_width, math.ceil(count / grid_width)
    elif grid_height > 0:
        columns, rows = math.ceil(count / grid_height), grid_height
    else:
        columns = rows = math.ceil(math.sqrt(count))
    # Like Instill, every cell has the first image's size; others are clipped to it.
    cell_w, cell_h = loaded[0][0].size
    out_w, out_h = columns * cell_w + (columns - 1) * padding, rows * cell_h + (rows - 1) * padding
    check_size(out_w, out_h)
    from PIL import Image

    canvas = Image.new("RGBA", (out_w, out_h), (0, 0, 0, 0))
    for i, (image, _) in enumerate(loaded):
        row, column = divmod(i, columns)
        tile = image.convert("RGBA").crop((0, 0, cell_w, cell_h))
        canvas.alpha_composite(tile, (column * (cell_w + padding), row * (cell_h + padding)))
    all_jpeg = all(file.mime_type == "image/jpeg" for _, file in loaded)
    return {"image": image_file(canvas, source=loaded[0][1], suffix="concat", keep_jpeg=all_jpeg)}


class _Canvas:
    """An image with a transparent overlay: labels blend, boxes stay opaque."""

    def __init__(self, image: Image.Image) -> None:
        from PIL import Image, ImageDraw

        self.had_alpha = "A" in image.getbands() or "transparency" in image.info
        self.base = image.convert("RGBA")
        self.overlay = Image.new("RGBA", self.base.size, (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.overlay)

    def box(self, box: tuple[float, float, float, float], colour: tuple[int, int, int]) -> None:
        left, top, width, height = box
        right, bottom = left + max(width, 1), top + max(height, 1)
        radius = min(4, int(min(width, height) // 2))
        self.draw.rounded_rectangle((left, top, right, bottom), radius=radius, outline=(*colour, 255), width=BOX_WIDTH)

    def label(
        self, text: str, x: float, y: float, *, above: bool = False, background: tuple[int, ...] = LABEL_BACKGROUND
    ) -> None:
        """A text label whose box's top-left corner is at (x, y) — or whose bottom
        is at y when ``above`` — kept inside the image."""
        font = _font()
        tl, tt, tr, tb = self.draw.textbbox((0, 0), text, font=font)
        box_w, box_h = tr - tl + 4 * PADDING, tb - tt + 2 * PADDING
        if above:
            y -= box_h + PADDING
        x = max(0.0, min(x, self.base.width - box_w))
        y = max(0.0, min(y, self.base.height - box_h))
        self.draw.rounded_rectangle((x, y, x + box_w, y + box_h), radius=4, fill=background)
        self.draw.text((x + 2 * PADDING - tl, y + PADDING - tt), text, font=font, fill=TEXT_COLOUR)

    def result(self) -> Image.Image:
        from PIL import Image

        combined = Image.alpha_composite(self.base, self.overlay)
        return combined if self.had_alpha else combined.convert("RGB")


def _bounding_box(obj: Any, index: int) -> tuple[float, float, float, float]:
    if not isinstance(obj, dict):
        raise ComponentError(f"objects[{index}] must be an object.")
    box = obj.get("bounding-box")
    if not isinstance(box, dict):
        raise ComponentError(f"objects[{index}] has no `bounding-box`.")
    values = tuple(
        _number(box.get(key), f"objects[{index}].bounding-box.{key}") for key in ("left", "top", "width", "height")
    )
    if values[2] < 0 or values[3] < 0:
        raise ComponentError(f"objects[{index}].bounding-box has a negative width or height.")
    return values  # type: ignore[return-value]


def _objects_of(input: dict[str, Any]) -> list[Any]:
    objects = input.get("objects")
    if not isinstance(objects, list | tuple):
        raise ComponentError("`objects` must be an array.")
    return list(objects)


def _with_score(text: str, obj: dict[str, Any], show: bool, index: int | None = None) -> str:
    if not show or obj.get("score") is None:
        return text
    where = "score" if index is None else f"objects[{index}].score"
    return f"{text} {_number(obj['score'], where):.2f}"


def draw_classification(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    category = input.get("category")
    if not isinstance(category, str):
        raise ComponentError("`category` must be a string.")
    image, source = load_image(input.get("image"))
    canvas = _Canvas(image)
    text = _with_score(category, input, bool(input.get("show-score")))
    canvas.label(text, PADDING, PADDING, background=(0, 0, 0, 255))
    return {"image": image_file(canvas.result(), source=source, suffix="classification")}


def draw_detection(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    objects = _objects_of(input)
    boxes = [_bounding_box(obj, i) for i, obj in enumerate(objects)]
    image, source = load_image(input.get("image"))
    show = bool(input.get("show-score"))
    colours: dict[str, tuple[int, int, int]] = {}
    canvas = _Canvas(image)
    for box, obj in zip(boxes, objects, strict=True):
        category = str(obj.get("category", ""))
        colour = colours.setdefault(category, PALETTE[len(colours) % len(PALETTE)])
        canvas.box(box, colour)
    # Labels after every box so no box is drawn over a label.
    for i, (box, obj) in enumerate(zip(boxes, objects, strict=True)):
        text = _with_score(str(obj.get("category", "")), obj, show, i)
        if text:
            canvas.label(text, box[0] - 2 * PADDING, box[1], above=True)
    return {"image": image_file(canvas.result(), source=source, suffix="detection")}


def draw_ocr(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    objects = _objects_of(input)
    boxes = [_bounding_box(obj, i) for i, obj in enumerate(objects)]
    image, source = load_image(input.get("image"))
    show = bool(input.get("show-score"))
    canvas = _Canvas(image)
    for box in boxes:
        canvas.box(box, OCR_BOX_COLOUR)
    for i, (box, obj) in enumerate(zip(boxes, objects, strict=True)):
        text = _with_score(str(obj.get("text", "")), obj, show, i)
        if text:
            # Inside the box's top-left corner, as Instill places OCR text.
            canvas.label(text, box[0] + BOX_WIDTH, box[1] + BOX_WIDTH)
    return {"image": image_file(canvas.result(), source=source, suffix="ocr")}


register_attribute("width", lambda value: image_size(value)[0])
register_attribute("height", lambda value: image_size(value)[1])


def _task(name: str, title: str, description: str, input_schema: dict[str, Any], run: Any) -> Task:
    return Task(
        name=name,
        title=title,
        description=description,
        input_schema=input_schema,
        output_schema=OUTPUT,
        run=run,
        blocking=True,
    )


COMPONENT = ComponentDefinition(
    type="image",
    title="Image",
    description="Manipulate images and draw vision-model results on them.",
    tasks={
        task.name: task
        for task in (
            _task("TASK_RESIZE", "Resize", "Resize image to the specified size.", RESIZE_INPUT, resize),
            _task("TASK_CROP", "Crop", "Crop image to the specified size.", CROP_INPUT, crop),
            _task(
                "TASK_CONCAT",
                "Concat",
                "Concatenate images into a grid. If `grid-width` and `grid-height` are not provided, "
                "the images are concatenated to a square grid.",
                CONCAT_INPUT,
                concat,
            ),
            _task(
                "TASK_DRAW_CLASSIFICATION",
                "Draw Classification",
                "Draw classification result on the image.",
                DRAW_CLASSIFICATION_INPUT,
                draw_classification,
            ),
            _task(
                "TASK_DRAW_DETECTION",
                "Draw Detection",
                "Draw detection result on the image.",
                DRAW_DETECTION_INPUT,
                draw_detection,
            ),
            _task("TASK_DRAW_OCR", "Draw OCR", "Draw OCR result on the image.", DRAW_OCR_INPUT, draw_ocr),
        )
    },
)
