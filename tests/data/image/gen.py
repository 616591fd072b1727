#!/usr/bin/python3
"""Regenerates the image-module fixtures and OpenCV references in this folder.

Run from the repository root with Debian's Python (cv2 = OpenCV 4.6, PIL, numpy):
    /usr/bin/python3 tests/data/image/gen.py
Outputs (all small, all synthetic or from the repo's own sample / ../shared test images):
  fixtures  exif_<1..8>.jpg, png_*.png, bmp_*.bmp, webp_*.webp, jpeg_*.jpg, noise_rgb.png, noise_gray.png
  refs.txt  one line per expected decode: "<kind> <file> <w> <h> <c> <fnv1a64 of tight rows>"
            kind decode3 = cv2.imread(IMREAD_COLOR) as RGB, gray = cvtColor(imread, BGR2GRAY),
            exact = the lossless source pixels the fixture was written from.
            <file> is relative to this folder, or repo:<path> / shared:<path>.
  ref_*.pnm cv2.resize / cv2.warpAffine outputs on noise_*.png (P6 = RGB, P5 = gray).
"""
import io, os, struct, sys, zlib
import cv2
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
SHARED = os.environ.get('FS_SHARED_DIR', os.path.join(REPO, '..', 'shared'))
refs = []


def fnv(a):
    h = 0xcbf29ce484222325
    for b in np.ascontiguousarray(a).tobytes():
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def add_ref(kind, name, rgb):
    if rgb.ndim == 2:
        rgb = rgb[:, :, None]
    h, w, c = rgb.shape
    refs.append(f'{kind} {name} {w} {h} {c} {fnv(rgb):016x}')


def path_of(name):
    if name.startswith('repo:'):
        return os.path.join(REPO, name[5:])
    if name.startswith('shared:'):
        return os.path.join(SHARED, name[7:])
    return os.path.join(HERE, name)


def ref_imread(name):
    bgr = cv2.imread(path_of(name), cv2.IMREAD_COLOR)
    assert bgr is not None, name
    add_ref('decode3', name, bgr[:, :, ::-1])
    return bgr


def out(name, data):
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(data)


# ---------------------------------------------------------------- EXIF orientations
def quadrants(w=24, h=16):
    a = np.zeros((h, w, 3), np.uint8)  # RGB
    a[:h // 2, :w // 2] = (255, 0, 0)
    a[:h // 2, w // 2:] = (0, 255, 0)
    a[h // 2:, :w // 2] = (0, 0, 255)
    a[h // 2:, w // 2:] = (255, 255, 255)
    return a


def tiff(orientation, be):
    e = '>' if be else '<'
    make = b'Test\0\0'
    # IFD0 at 8 with 3 entries: Make (ASCII, offset), Orientation (SHORT), XResolution (RATIONAL, offset)
    n = 3
    data_off = 8 + 2 + n * 12 + 4
    ent = struct.pack(e + 'HHII', 0x010F, 2, len(make), data_off)
    ent += struct.pack(e + 'HHI', 0x0112, 3, 1) + struct.pack(e + 'HH', orientation, 0)
    ent += struct.pack(e + 'HHII', 0x011A, 5, 1, data_off + len(make))
    t = (b'MM' if be else b'II') + struct.pack(e + 'HI', 42, 8) + struct.pack(e + 'H', n) + ent
    t += struct.pack(e + 'I', 0) + make + struct.pack(e + 'II', 72, 1)
    return t


def with_app1(jpeg, payload):
    seg = b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload
    return jpeg[:2] + seg + jpeg[2:]


base = quadrants()
ok, enc = cv2.imencode('.jpg', base[:, :, ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, 95])
for o in range(1, 9):
    name = f'exif_{o}.jpg'
    out(name, with_app1(enc.tobytes(), b'Exif\0\0' + tiff(o, be=(o % 2 == 0))))
    ref_imread(name)

# ---------------------------------------------------------------- JPEG variants
rng = np.random.default_rng(1234)
yy, xx = np.mgrid[0:40, 0:56]
smooth = np.stack([(xx * 4) % 256, (yy * 6) % 256, ((xx + yy) * 3) % 256], -1).astype(np.uint8)
Image.fromarray(smooth).convert('CMYK').save(os.path.join(HERE, 'jpeg_cmyk.jpg'), quality=92)
ref_imread('jpeg_cmyk.jpg')
Image.fromarray(smooth).save(os.path.join(HERE, 'jpeg_progressive.jpg'), quality=90, progressive=True)
ref_imread('jpeg_progressive.jpg')
cv2.imwrite(os.path.join(HERE, 'jpeg_gray.jpg'), smooth[:, :, 1])
ref_imread('jpeg_gray.jpg')
add_ref('decode0', 'jpeg_gray.jpg', cv2.imread(os.path.join(HERE, 'jpeg_gray.jpg'), cv2.IMREAD_GRAYSCALE))

# ---------------------------------------------------------------- PNG variants
def png_chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)


def png_raw(w, h, bitdepth, ctype, interlace, idat, extra=b''):
    ihdr = struct.pack('>IIBBBBB', w, h, bitdepth, ctype, 0, 0, interlace)
    return (b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', ihdr) + extra + png_chunk(b'IDAT', idat) +
            png_chunk(b'IEND', b''))


def png_adam7(a):  # 8-bit RGB, Adam7 interlaced, filter 0 — written by hand (PIL/cv2 cannot)
    h, w, _ = a.shape
    raw = b''
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        sub = a[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b'\0' + row.tobytes()
    return png_raw(w, h, 8, 2, 1, zlib.compress(raw))


noise = rng.integers(0, 256, (13, 19, 3), dtype=np.uint8)
out('png_interlaced.png', png_adam7(noise))
add_ref('exact', 'png_interlaced.png', noise)
ref_imread('png_interlaced.png')

n16 = rng.integers(0, 65536, (11, 17, 3), dtype=np.uint16)
cv2.imwrite(os.path.join(HERE, 'png_rgb16.png'), n16[:, :, ::-1].copy())
add_ref('exact', 'png_rgb16.png', (n16 >> 8).astype(np.uint8))
ref_imread('png_rgb16.png')
g16 = rng.integers(0, 65536, (9, 14), dtype=np.uint16)
cv2.imwrite(os.path.join(HERE, 'png_gray16.png'), g16)
add_ref('exact', 'png_gray16.png', (g16 >> 8).astype(np.uint8))
ref_imread('png_gray16.png')

pal = Image.fromarray(smooth).quantize(colors=16)
pal.save(os.path.join(HERE, 'png_palette.png'))
add_ref('exact', 'png_palette.png', np.array(pal.convert('RGB')))
ref_imread('png_palette.png')
palt = pal.copy()
palt.info['transparency'] = 3
palt.save(os.path.join(HERE, 'png_palette_trns.png'), transparency=3)
ref_imread('png_palette_trns.png')

la = np.stack([smooth[:, :, 0], smooth[:, :, 2]], -1)
Image.fromarray(la, 'LA').save(os.path.join(HERE, 'png_graya.png'))
add_ref('exact', 'png_graya.png', la[:, :, 0])
ref_imread('png_graya.png')
rgba = np.concatenate([smooth, smooth[:, :, :1]], -1)
Image.fromarray(rgba, 'RGBA').save(os.path.join(HERE, 'png_rgba.png'))
add_ref('exact', 'png_rgba.png', smooth)
ref_imread('png_rgba.png')
bits = (rng.integers(0, 2, (10, 21)) * 255).astype(np.uint8)
Image.fromarray(bits).convert('1').save(os.path.join(HERE, 'png_gray1.png'))
add_ref('exact', 'png_gray1.png', bits)
ref_imread('png_gray1.png')

# EXIF orientation in a PNG eXIf chunk (bare TIFF), before or after IDAT: cv2.imread applies both
quad = quadrants(6, 4)
quad_raw = zlib.compress(b''.join(b'\0' + r.tobytes() for r in quad))
for o, where in [(6, 'before'), (3, 'after'), (8, 'after')]:
    ex = png_chunk(b'eXIf', tiff(o, be=(o != 8)))
    ihdr = png_chunk(b'IHDR', struct.pack('>IIBBBBB', 6, 4, 8, 2, 0, 0, 0))
    body = ihdr + (ex if where == 'before' else b'') + png_chunk(b'IDAT', quad_raw) + \
        (ex if where == 'after' else b'') + png_chunk(b'IEND', b'')
    name = f'png_exif_{o}_{where}.png'
    out(name, b'\x89PNG\r\n\x1a\n' + body)
    upright = {6: np.rot90(quad, -1), 3: np.rot90(quad, 2), 8: np.rot90(quad, 1)}[o]
    add_ref('exact', name, upright)
    ref_imread(name)

# bombs: huge declared size with a tiny IDAT; a zTXt chunk that inflates to 32 MiB
out('png_bomb_dims.png', png_raw(100000, 100000, 8, 2, 0, zlib.compress(b'\0' * 1000)))
out('png_bomb_6000.png', png_raw(6000, 6000, 8, 2, 0, zlib.compress(b'\0' * 1000)))  # 36 MP: within the limit
small = zlib.compress(b''.join(b'\0' + bytes(8 * 3) for _ in range(8)))
ztxt = png_chunk(b'zTXt', b'Comment\0\0' + zlib.compress(b'\0' * (32 << 20), 9))
out('png_ztxt_bomb.png', png_raw(8, 8, 8, 2, 0, small, extra=ztxt))

# ---------------------------------------------------------------- BMP variants (hand-written)
def bmp(a, bpp=24, top_down=False, header=40, palette=None, bitfields=False):
    h, w = a.shape[:2]
    stride = (w * bpp + 31) // 32 * 4
    rows = []
    for y in (range(h) if top_down else range(h - 1, -1, -1)):
        r = a[y]
        if bpp == 24:
            b = r[:, ::-1].tobytes()
        elif bpp == 32:
            b = np.concatenate([r[:, ::-1], np.full((w, 1), 77, np.uint8)], 1).tobytes()
        else:  # palette indices
            per = 8 // bpp
            b = bytearray((w + per - 1) // per)
            for x, v in enumerate(r):
                b[x // per] |= int(v) << (8 - bpp * (x % per + 1))
            b = bytes(b)
        rows.append(b + b'\0' * (stride - len(b)))
    pix = b''.join(rows)
    pal = b''
    if palette is not None:
        pal = b''.join(bytes((p[2], p[1], p[0])) + (b'' if header == 12 else b'\0') for p in palette)
    masks = struct.pack('<IIII', 0xFF0000, 0xFF00, 0xFF, 0xFF000000) if bitfields else b''
    if header == 12:
        dib = struct.pack('<IHHHH', 12, w, h, 1, bpp)
    else:
        dib = struct.pack('<IiiHHIIiiII', header, w, -h if top_down else h, 1, bpp, 3 if bitfields else 0,
                          len(pix), 2835, 2835, len(palette) if palette is not None else 0, 0)
        dib += masks[:max(0, header - 40)] if bitfields else b''
        dib += b'\0' * (header - len(dib))
    off = 14 + len(dib) + pal.__len__()
    return b'BM' + struct.pack('<IHHI', off + len(pix), 0, 0, off) + dib + pal + pix


img = rng.integers(0, 256, (7, 13, 3), dtype=np.uint8)  # odd width: row padding
for name, kw in [('bmp_24.bmp', {}), ('bmp_24_topdown.bmp', {'top_down': True}), ('bmp_32.bmp', {'bpp': 32}),
                 ('bmp_32_v5_bitfields.bmp', {'bpp': 32, 'header': 124, 'bitfields': True}),
                 ('bmp_24_os2.bmp', {'header': 12})]:
    out(name, bmp(img, **kw))
    add_ref('exact', name, img)
    ref_imread(name)
palette = [tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(256)]
idx = rng.integers(0, 256, (9, 11), dtype=np.uint8)
out('bmp_8.bmp', bmp(idx, bpp=8, palette=palette))
add_ref('exact', 'bmp_8.bmp', np.array(palette, np.uint8)[idx])
ref_imread('bmp_8.bmp')
grayp = [(i, i, i) for i in range(256)]
out('bmp_8_gray_topdown.bmp', bmp(idx, bpp=8, palette=grayp, top_down=True))
add_ref('exact', 'bmp_8_gray_topdown.bmp', idx)
ref_imread('bmp_8_gray_topdown.bmp')
idx4 = rng.integers(0, 16, (5, 9), dtype=np.uint8)
out('bmp_4.bmp', bmp(idx4, bpp=4, palette=palette[:16]))
add_ref('exact', 'bmp_4.bmp', np.array(palette[:16], np.uint8)[idx4])
ref_imread('bmp_4.bmp')
idx1 = rng.integers(0, 2, (6, 19), dtype=np.uint8)
out('bmp_1.bmp', bmp(idx1, bpp=1, palette=[(10, 20, 30), (200, 150, 100)]))
add_ref('exact', 'bmp_1.bmp', np.array([(10, 20, 30), (200, 150, 100)], np.uint8)[idx1])
ref_imread('bmp_1.bmp')

# ---------------------------------------------------------------- WebP variants
cv2.imwrite(os.path.join(HERE, 'webp_lossy.webp'), smooth[:, :, ::-1].copy(), [cv2.IMWRITE_WEBP_QUALITY, 90])
ref_imread('webp_lossy.webp')
Image.fromarray(noise).save(os.path.join(HERE, 'webp_lossless.webp'), lossless=True)
add_ref('exact', 'webp_lossless.webp', noise)
ref_imread('webp_lossless.webp')
Image.fromarray(rgba, 'RGBA').save(os.path.join(HERE, 'webp_alpha.webp'), lossless=True, exact=True)
add_ref('exact', 'webp_alpha.webp', smooth)
ref_imread('webp_alpha.webp')
# WebP EXIF orientation is NOT applied by OpenCV 4.6's imread (nor by us): pinned by this reference
wex = Image.Exif()
wex[0x0112] = 6
Image.fromarray(quadrants(6, 4)).save(os.path.join(HERE, 'webp_exif6.webp'), exif=wex.tobytes(), lossless=True)
add_ref('exact', 'webp_exif6.webp', quadrants(6, 4))
ref_imread('webp_exif6.webp')
f1 = Image.fromarray(noise)
f2 = Image.fromarray(255 - noise)
f1.save(os.path.join(HERE, 'webp_anim.webp'), save_all=True, append_images=[f2], duration=100, loop=0, lossless=True)

# ---------------------------------------------------------------- photos: decode and gray references
for name in ['repo:samples/face.jpg', 'shared:models/test_images/grace_hopper.bmp']:
    if os.path.exists(path_of(name)):
        bgr = ref_imread(name)
        add_ref('gray', name, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))

# ---------------------------------------------------------------- resize / warp references
nrgb = rng.integers(0, 256, (36, 48, 3), dtype=np.uint8)
ngray = rng.integers(0, 256, (30, 40), dtype=np.uint8)
cv2.imwrite(os.path.join(HERE, 'noise_rgb.png'), nrgb[:, :, ::-1].copy())
cv2.imwrite(os.path.join(HERE, 'noise_gray.png'), ngray)
add_ref('gray', 'noise_rgb.png', cv2.cvtColor(nrgb[:, :, ::-1].copy(), cv2.COLOR_BGR2GRAY))


def pnm(name, a):
    if a.ndim == 2:
        hdr = b'P5\n%d %d\n255\n' % (a.shape[1], a.shape[0])
    else:
        hdr = b'P6\n%d %d\n255\n' % (a.shape[1], a.shape[0])
    out(name, hdr + np.ascontiguousarray(a).tobytes())


for src_name, a in [('rgb', nrgb), ('gray', ngray)]:
    bgr = a[:, :, ::-1].copy() if a.ndim == 3 else a
    for w, h in [(17, 13), (24, 18), (20, 15), (16, 12), (31, 23), (61, 47), (100, 50), (30, 50), (1, 1), (12, 36), (24, 36), (10, 6)]:
        for mode, interp in [('linear', cv2.INTER_LINEAR), ('area', cv2.INTER_AREA)]:
            r = cv2.resize(bgr, (w, h), interpolation=interp)
            pnm(f'ref_resize_{src_name}_{w}x{h}_{mode}.pnm', r[:, :, ::-1] if r.ndim == 3 else r)
    for i, M in enumerate([[[0.9848, -0.1736, 5.3], [0.1736, 0.9848, -3.7]],
                           [[0.5, 0.2, 10.25], [-0.3, 0.6, 8.5]],
                           [[1.7, 0.0, -20.0], [0.0, 1.7, -12.0]]]):
        M = np.array(M)
        r = cv2.warpAffine(bgr, M, (44, 33), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        pnm(f'ref_warp_{src_name}_{i}.pnm', r[:, :, ::-1] if r.ndim == 3 else r)
        refs.append(f'warpm {src_name}_{i} ' + ' '.join(repr(float(v)) for v in M.ravel()))

with open(os.path.join(HERE, 'refs.txt'), 'w') as f:
    f.write('# generated by gen.py (OpenCV %s); see its docstring\n' % cv2.__version__)
    f.write('\n'.join(refs) + '\n')
print(len(refs), 'references')
