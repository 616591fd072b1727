#!/usr/bin/python3
"""fuzz/tools/make_seeds.py — (re)makes the small seed corpora fuzz/corpus/<target>/ from the repo's own test
data (tests/data, models/opencv, libonnx-testdata for ONNX node models). Run from the repo root:
    /usr/bin/python3 fuzz/tools/make_seeds.py
The .fsh seed comes from fuzz/tools/make_fsh_seed.c (the library's writer), see mk/fuzz.mk's comment."""
import glob, os, re, shutil, struct

C = 'fuzz/corpus'

def put(target, name, data):
    os.makedirs(f'{C}/{target}', exist_ok=True)
    assert len(data) <= 64 * 1024, (target, name, len(data))
    with open(f'{C}/{target}/{name}', 'wb') as f:
        f.write(data)

def rd(p):
    with open(p, 'rb') as f:
        return f.read()

# ---- image: every small fixture format (JPEG incl. EXIF/CMYK/progressive/gray, PNG variants, BMP, WebP)
img = ['exif_3.jpg', 'exif_6.jpg', 'exif_8.jpg', 'jpeg_progressive.jpg', 'jpeg_cmyk.jpg', 'jpeg_gray.jpg',
       'png_interlaced.png', 'png_palette_trns.png', 'png_gray16.png', 'png_graya.png', 'png_gray1.png',
       'png_rgba.png', 'png_rgb16.png', 'png_exif_6_before.png', 'png_bomb_dims.png', 'bmp_1.bmp', 'bmp_4.bmp',
       'bmp_8.bmp', 'bmp_24.bmp', 'bmp_24_os2.bmp', 'bmp_24_topdown.bmp', 'bmp_32.bmp', 'bmp_32_v5_bitfields.bmp',
       'bmp_8_gray_topdown.bmp', 'webp_lossy.webp', 'webp_lossless.webp', 'webp_alpha.webp', 'webp_anim.webp',
       'webp_exif6.webp']
for n in img:
    put('image', n, rd(f'tests/data/image/{n}'))

# ---- exif: the APP1 payloads of the JPEG fixtures, the eXIf chunk of the PNG one
def jpeg_app1(b):
    i = 2
    while i + 4 <= len(b) and b[i] == 0xFF:
        m, n = b[i + 1], struct.unpack('>H', b[i + 2:i + 4])[0]
        if m == 0xE1:
            return b[i + 4:i + 2 + n]
        i += 2 + n
    return None

for o in range(1, 9):
    a = jpeg_app1(rd(f'tests/data/image/exif_{o}.jpg'))
    if a:
        put('exif', f'app1_{o}', a)
p = rd('tests/data/image/png_exif_6_before.png')
k = p.find(b'eXIf')
if k > 0:
    n = struct.unpack('>I', p[k - 4:k])[0]
    put('exif', 'png_exif_6', p[k + 4:k + 4 + n])
put('exif', 'mm_3', b'MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x03\x00\x00\x00\x00\x00\x00')

# ---- multipart: "Content-Type value" NUL body
def mp(ct, parts, boundary):
    body = b''
    for name, ctype, data in parts:
        body += b'--' + boundary + b'\r\nContent-Disposition: form-data; name="' + name + b'"'
        if ctype:
            body += b'; filename="x"\r\nContent-Type: ' + ctype
        body += b'\r\n\r\n' + data + b'\r\n'
    body += b'--' + boundary + b'--\r\n'
    return ct + b'\x00' + body

tiny = rd('tests/data/image/webp_alpha.webp')
put('multipart', 'one_part', mp(b'multipart/form-data; boundary=XyZ', [(b'image', b'image/webp', tiny)], b'XyZ'))
put('multipart', 'two_parts_quoted', mp(b'multipart/form-data; boundary="a b:c"',
    [(b'note', None, b'hello'), (b'image', b'image/png', b'\x89PNG\r\n\x1a\n')], b'a b:c'))
put('multipart', 'no_image', mp(b'multipart/form-data;boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW',
    [(b'other', None, b'x')], b'----WebKitFormBoundary7MA4YWxkTrZu0gW'))
put('multipart', 'preamble', b'multipart/form-data; charset=utf-8; boundary=B\x00preamble\r\n--B\r\n'
    b'Content-Disposition: form-data; name=image\r\n\r\nabc\r\n--B--')

# ---- tflite: the loader tests' tiny models (valid and refused ones)
for p in sorted(glob.glob('tests/data/nn/*.tflite')):
    put('tflite', os.path.basename(p), rd(p))

# ---- onnx: the loader tests' small models + passing libonnx-testdata node models (one per op family)
for p in sorted(glob.glob('tests/data/nn/onnx/*.onnx') + glob.glob('tests/data/nn/onnx/nd_cases/*/model.onnx') +
                glob.glob('tests/data/yunet/*.onnx')):
    put('onnx', p.replace('tests/data/', '').replace('/', '_'), rd(p))
seen = set()
T = '/usr/share/libonnx-testdata/data'
for line in open('tests/data/nn/onnx/conformance_pass.txt'):
    t = line.strip()
    fam = re.sub(r'^node/test_', '', t).split('_')[0]
    p = f'{T}/{t}/model.onnx'
    if not t.startswith('node/') or fam in seen or not os.path.exists(p) or os.path.getsize(p) > 4096:
        continue
    seen.add(fam)
    put('onnx', t.replace('/', '_') + '.onnx', rd(p))

# ---- tfjs: model.json NUL weights (the tiny model of tests/nn/test_tfjs.c)
src = open('tests/nn/test_tfjs.c').read()
m = re.search(r'static const char \*TINY =\n(.*?);\n', src, re.S)
tj = ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))).encode().decode('unicode_escape').encode()
tb = bytes([0, 1, 2, 4, 0x00, 0x3c, 0x00, 0xc0, 0, 0, 0, 0x3f, 0, 0, 0x40, 0x40])
put('tfjs', 'tiny', tj + b'\x00' + tb)
put('tfjs', 'tiny_float32_w', tj.replace(b',"quantization":{"dtype":"uint8","min":-1.0,"scale":0.5}', b'')
    + b'\x00' + bytes(16) + tb[4:])

# ---- cascade: the first stages of OpenCV's Haar and LBP face cascades, with the features they use
def top_items(s):
    """the top-level <_>...</_> elements of s (depth counting)"""
    out, depth, start = [], 0, 0
    for m in re.finditer(r'<_>|</_>', s):
        if m.group() == '<_>':
            if depth == 0:
                start = m.start()
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                out.append('\n    ' + s[start:m.end()])
    return out

def excerpt(path, nstages):
    x = rd(path).decode()
    head = x[x.index('<opencv_storage>'):x.index('<stages>') + len('<stages>')]
    body = x[x.index('<stages>') + len('<stages>'):x.index('</stages>')]
    stages = top_items(body)[:nstages]
    used = [int(v) for s in stages for v in re.findall(r'<internalNodes>\s*\S+\s+\S+\s+(\d+)', s)]
    feats = x[x.index('<features>') + len('<features>'):x.index('</features>')]
    fl = top_items(feats)[:max(used) + 1]
    head = re.sub(r'<stageNum>\d+</stageNum>', f'<stageNum>{nstages}</stageNum>', head)
    return (head + ''.join(stages) + '</stages>\n  <features>' + ''.join(fl) +
            '</features></cascade>\n</opencv_storage>\n').encode()

put('cascade', 'haar_2stages.xml', excerpt('models/opencv/haarcascade_frontalface_default.xml', 2))
put('cascade', 'lbp_2stages.xml', excerpt('models/opencv/lbpcascade_frontalface_improved.xml', 2))

# ---- dataset_csv: path,score[,gender] lists
put('dataset_csv', 'header_gender', b'path,score,gender\nman/1/a.jpg,1.5,male\nwoman/5/b.jpg,4.75,f\n# c\n\nc.png,3,\n')
put('dataset_csv', 'plain', b'/abs/x.jpg,2\nrel/y.jpeg,5.0,1\r\nz.bmp,1,0\n')

# ---- dataset_scut: labels.csv NUL split list
put('dataset_scut', 'small', b'filename,score\nAF1.jpg,3.2\nAM2.jpg,2.5\nCF3.jpg,4.1\nCM4.jpg,1.9\n'
    b'\x00AF1.jpg 3.2\nCM4.jpg 1.9\nAM2.jpg\n')
put('dataset_scut', 'no_header', b'x.jpg,5\r\nCF9.jpg,1.0\r\n\x00CF9.jpg\r\nx.jpg\r\n')

# ---- http: raw requests to the in-process server (fuzz_http.c), one per route / error path
def req(method, path, headers=(), body=b''):
    h = f'{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n'.encode()
    for k, v in headers:
        h += k + b': ' + v + b'\r\n'
    if body or method == 'POST':
        h += b'Content-Length: ' + str(len(body)).encode() + b'\r\n'
    return h + b'\r\n' + body

png = rd('tests/data/image/png_gray1.png')
mpb = mp(b'', [(b'image', b'image/png', png)], b'BnD')[1:]
put('http', 'healthz', req('GET', '/healthz'))
put('http', 'head_metrics', req('HEAD', '/metrics'))
put('http', 'page', req('GET', '/'))
put('http', 'not_found', req('GET', '/nope?x=1&y=%00'))
put('http', 'result_get', req('GET', '/api/v1/results/0123456789abcdef0123456789abcdef'))
put('http', 'result_delete', req('DELETE', '/api/v1/results/0123456789abcdef0123456789abcdef'))
put('http', 'result_bad_id', req('GET', '/api/v1/results/../../etc/passwd'))
put('http', 'history', req('GET', '/api/v1/results?limit=5&before=1700000000000', [(b'Authorization', b'Bearer fuzz-token')]))
put('http', 'history_badtoken', req('GET', '/api/v1/results', [(b'Authorization', b'Bearer nope')]))
put('http', 'score_multipart', req('POST', '/api/v1/score', [(b'Content-Type', b'multipart/form-data; boundary=BnD')], mpb))
put('http', 'score_raw_png', req('POST', '/api/v1/score', [(b'Content-Type', b'image/png')], png))
put('http', 'score_bad_type', req('POST', '/api/v1/score', [(b'Content-Type', b'text/plain')], b'hello'))
put('http', 'score_get', req('GET', '/api/v1/score'))
put('http', 'score_chunked', b'POST /api/v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n'
    b'Transfer-Encoding: chunked\r\n\r\n6c\r\n' + png + b'\r\n0\r\n\r\n')
put('http', 'pipelined', req('GET', '/healthz') + req('GET', '/metrics') + req('DELETE', '/healthz'))
put('http', 'http10', b'GET /healthz HTTP/1.0\r\n\r\n')
