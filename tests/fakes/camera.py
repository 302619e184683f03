"""Camera-like test images: EXIF orientation, GPS position, serial numbers, XMP, comments."""

from __future__ import annotations

import io
import random

from PIL import Image

SERIAL = "SN-ZX81-447190"
LENS_SERIAL = "LS-0042-7788"
#: the red corner: stored at the top left, shown at the top right after orientation 6
MARK = (230, 20, 20)


def camera_jpeg(width: int = 1600, height: int = 1200, *, orientation: int = 6,
                seed: int = 1, noise: bool = True) -> bytes:
    """A JPEG as a phone writes it: stored ``width`` x ``height`` (landscape) with the
    EXIF orientation flag, GPS coordinates, body and lens serial numbers, an XMP
    packet and a comment that name the serial. Shown upright it is ``height`` wide."""
    rnd = random.Random(seed)
    img = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    if noise:  # photo-like detail, so the JPEG has a realistic weight
        grain = Image.effect_noise((width // 8, height // 8), 24).resize((width, height))
        img = Image.merge("RGB", (grain, img.getchannel(1), img.getchannel(2)))
    img.paste(MARK, (0, 0, width // 8, height // 8))
    x, y = width // 2, height // 2
    img.paste((rnd.randrange(256), 90, 200), (x, y, x + 40, y + 40))
    exif = Image.Exif()
    exif[0x010F] = "Camera Co"  # Make
    exif[0x0110] = "Model X100"  # Model
    exif[0x0112] = orientation
    exif[0x0131] = f"firmware for {SERIAL}"  # Software
    ifd = exif.get_ifd(0x8769)  # Exif IFD
    ifd[0xA431] = SERIAL  # BodySerialNumber
    ifd[0xA435] = LENS_SERIAL  # LensSerialNumber
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (59.0, 19.0, 48.0), 3: "E", 4: (18.0, 4.0, 12.0)})
    xmp = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
           f'02/22-rdf-syntax-ns#"><rdf:Description aux:SerialNumber="{SERIAL}" '
           f'xmlns:aux="http://ns.adobe.com/exif/1.0/aux/"/></rdf:RDF></x:xmpmeta>').encode()
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92, exif=exif, xmp=xmp, comment=f"shot by {SERIAL}".encode())
    return out.getvalue()


def transparent_png(width: int = 900, height: int = 500) -> bytes:
    """A PNG with a fully transparent left half and a text chunk naming the serial."""
    from PIL import PngImagePlugin

    img = Image.new("RGBA", (width, height), (0, 120, 200, 255))
    img.paste((0, 0, 0, 0), (0, 0, width // 2, height))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"camera {SERIAL}")
    exif = Image.Exif()
    exif[0x0131] = SERIAL
    out = io.BytesIO()
    img.save(out, "PNG", pnginfo=info, exif=exif)
    return out.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    """An animated GIF whose comment names the serial."""
    imgs = [Image.new("RGB", (120, 80), (i * 80, 40, 200 - i * 60)) for i in range(frames)]
    out = io.BytesIO()
    imgs[0].save(out, "GIF", save_all=True, append_images=imgs[1:], duration=120, loop=0,
                 comment=f"gif by {SERIAL}".encode())
    return out.getvalue()
