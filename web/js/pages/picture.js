// 印模制作: the seal picture at 1:1 (docs/picture.md; LD/T 01.1 7.5). From a scan of the
// collection sheet: load it, mark the seal with a box by mouse (or type the box), enter the size
// measured on paper, and the server crops it, removes the paper, makes the ink one red and
// scales it to the millimetres (POST /api/v1/pictures/scan). Or a standard seal drawn from the
// unit's name (POST /api/v1/pictures/draw). The result shows at real size (CSS millimetres) on
// a transparent checkerboard beside a ruler that the viewer may calibrate to this screen, and
// downloads as a PNG whose pHYs makes it print at 1:1, or goes onto a draft application
// (PUT /api/v1/applications/{id}/picture); nothing else is stored here.
import { ApiError, api, page } from '../core/api.js';
import { button, dropDownload, el, offerDownload } from '../core/dom.js';
import { errorBox, showError } from '../core/form.js';
import { t } from '../core/i18n.js';

const MAX_SCAN = 12 * 1024 * 1024;
const CALIB_KEY = 'eseal.mm_scale';
let view = null;

// The body of a scan request: the file itself, as image/jpeg or image/png.
async function postScan(query, file) {
  let res;
  try {
    res = await fetch(`/api/v1/pictures/scan?${query}`, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': file.type },
      credentials: 'same-origin',
      body: file,
    });
  } catch (e) {
    throw new ApiError('network', 0, null);
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').startsWith('application/json')) {
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) {
    const code = data && typeof data.error === 'string' ? data.error : 'http_' + res.status;
    throw new ApiError(code, res.status, data);
  }
  return data;
}

function storedScale() {
  try {
    const v = parseFloat(localStorage.getItem(CALIB_KEY));
    return v > 0.5 && v < 2 ? v : 1;
  } catch (e) {
    return 1;
  }
}

function bytesOf(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// A labelled input in a .filter column; data-field names what the server calls it.
function labelled(id, key, attrs, fieldName) {
  const wrap = el('div', null, 'filter');
  const input = el('input', null, null, { id, autocomplete: 'off', ...(attrs || {}) });
  if (fieldName) input.setAttribute('data-field', fieldName);
  wrap.append(el('label', t(key), null, { htmlFor: id }), input);
  return [wrap, input];
}

function shapeSelect(id) {
  const wrap = el('div', null, 'filter');
  const sel = el('select', null, null, { id });
  sel.setAttribute('data-field', 'shape');
  sel.append(
    el('option', t('pic_shape_round'), null, { value: 'round' }),
    el('option', t('pic_shape_oval'), null, { value: 'oval' }),
  );
  wrap.append(el('label', t('pic_shape'), null, { htmlFor: id }), sel);
  return [wrap, sel];
}

function dpiSelect(id) {
  const wrap = el('div', null, 'filter');
  const sel = el('select', null, null, { id });
  sel.setAttribute('data-field', 'dpi');
  for (const d of [600, 1200, 300]) sel.append(el('option', `${d} dpi`, null, { value: String(d) }));
  wrap.append(el('label', t('pic_dpi'), null, { htmlFor: id }), sel);
  return [wrap, sel];
}

// Round: one diameter; oval: width and height. Returns the inputs and a function giving the
// size as query or JSON members.
function sizeInputs(prefix) {
  const [shapeWrap, shape] = shapeSelect(`${prefix}-shape`);
  const [dWrap, diameter] = labelled(
    `${prefix}-diameter`,
    'pic_diameter',
    { type: 'number', min: '10', max: '100', step: '0.1', value: '42', inputMode: 'decimal' },
    'diameter',
  );
  const [wWrap, width] = labelled(
    `${prefix}-width`,
    'pic_width',
    { type: 'number', min: '10', max: '100', step: '0.1', value: '45', inputMode: 'decimal' },
    'width_mm',
  );
  const [hWrap, height] = labelled(
    `${prefix}-height`,
    'pic_height',
    { type: 'number', min: '10', max: '100', step: '0.1', value: '30', inputMode: 'decimal' },
    'height_mm',
  );
  const sync = () => {
    const oval = shape.value === 'oval';
    dWrap.hidden = oval;
    wWrap.hidden = !oval;
    hWrap.hidden = !oval;
  };
  shape.addEventListener('change', sync);
  sync();
  const values = () =>
    shape.value === 'oval'
      ? { width_mm: Number(width.value), height_mm: Number(height.value) }
      : { diameter: Number(diameter.value) };
  return { nodes: [shapeWrap, dWrap, wWrap, hWrap], shape, values };
}

export default {
  id: 'picture',
  permission: 'seal_apply',
  title: 'page_picture',

  mount(root, ctx) {
    const v = { alive: true, scan: null, box: null, drag: null, img: null };
    view = v;

    // ---- From a scan.
    const scanPanel = el('div', null, 'panel', { id: 'pic-scan-panel' });
    const scanForm = el('form', null, null, { id: 'pic-scan-form', noValidate: true });
    const file = el('input', null, null, {
      id: 'pic-file',
      type: 'file',
      accept: 'image/jpeg,image/png',
    });
    file.setAttribute('data-field', 'scan');
    const stage = el('div', null, 'pic-stage', { id: 'pic-stage' });
    const canvas = el('canvas', null, 'pic-canvas', { id: 'pic-canvas', width: 10, height: 10 });
    stage.append(canvas);
    stage.hidden = true;
    const scanInfo = el('p', t('pic_scan_hint'), 'note', { id: 'pic-scan-info' });
    const boxRow = el('div', null, 'filters pic-row');
    const boxIn = {};
    for (const k of ['x', 'y', 'w', 'h']) {
      const [wrap, input] = labelled(
        `pic-box-${k}`,
        `pic_box_${k}`,
        { type: 'number', min: '0', step: '1', inputMode: 'numeric' },
        k === 'x' ? 'box' : k,
      );
      boxIn[k] = input;
      boxRow.append(wrap);
    }
    const scanSize = sizeInputs('pic-scan');
    const [dpiWrap, dpi] = dpiSelect('pic-scan-dpi');
    const sizeRow = el('div', null, 'filters pic-row');
    sizeRow.append(...scanSize.nodes, dpiWrap);
    const scanErr = errorBox('pic-scan-error');
    const scanGo = button(t('pic_scan_submit'), '', null, { id: 'pic-scan-submit', type: 'submit' });
    scanForm.append(
      el('label', t('pic_file'), null, { htmlFor: 'pic-file' }),
      file,
      scanInfo,
      stage,
      boxRow,
      el('p', t('pic_measure_hint'), 'note'),
      sizeRow,
      scanErr,
      scanGo,
    );
    scanPanel.append(el('h2', t('pic_from_scan')), scanForm);

    // ---- A standard seal.
    const drawPanel = el('div', null, 'panel', { id: 'pic-draw-panel' });
    const drawForm = el('form', null, null, { id: 'pic-draw-form', noValidate: true });
    const [nameWrap, name] = labelled(
      'pic-name',
      'pic_name',
      { type: 'text', maxLength: 40, placeholder: '某某市人力资源和社会保障局' },
      'name',
    );
    const [typeWrap, type] = labelled(
      'pic-type',
      'pic_type',
      { type: 'text', maxLength: 16, placeholder: '公章' },
      'type',
    );
    const [codeWrap, code] = labelled(
      'pic-code',
      'pic_code',
      { type: 'text', maxLength: 20, inputMode: 'numeric' },
      'code',
    );
    const drawSize = sizeInputs('pic-draw');
    const star = el('input', null, null, { id: 'pic-star', type: 'checkbox', checked: true });
    const preview = el('input', null, null, { id: 'pic-preview', type: 'checkbox' });
    const opts = el('fieldset', null, null);
    const starLabel = el('label', null, null, { htmlFor: 'pic-star' });
    starLabel.append(star, el('span', t('pic_star')));
    const previewLabel = el('label', null, null, { htmlFor: 'pic-preview' });
    previewLabel.append(preview, el('span', t('pic_preview_mark')));
    opts.append(el('legend', t('pic_options')), starLabel, previewLabel);
    drawSize.shape.addEventListener('change', () => {
      star.checked = drawSize.shape.value === 'round';
    });
    const drawRow = el('div', null, 'filters pic-row');
    drawRow.append(nameWrap, typeWrap, codeWrap);
    const drawSizeRow = el('div', null, 'filters pic-row');
    drawSizeRow.append(...drawSize.nodes);
    const drawErr = errorBox('pic-draw-error');
    const drawGo = button(t('pic_draw_submit'), '', null, { id: 'pic-draw-submit', type: 'submit' });
    drawForm.append(drawRow, drawSizeRow, opts, drawErr, drawGo);
    drawPanel.append(el('h2', t('pic_standard')), el('p', t('pic_standard_note'), 'note'), drawForm);

    // ---- The result at real size.
    const result = el('div', null, 'panel', { id: 'pic-result' });
    result.hidden = true;
    const facts = el('dl', null, 'facts');
    const dd = {};
    for (const [id, key] of [
      ['pic-result-source', 'pic_source'],
      ['pic-result-size', 'pic_size'],
      ['pic-result-pixels', 'pic_pixels'],
    ]) {
      dd[id] = el('dd', null, null, { id });
      facts.append(el('dt', t(key)), dd[id]);
    }
    const warn = el('p', null, 'warn', { id: 'pic-aspect-warning', role: 'status' });
    warn.hidden = true;
    const sheet = el('div', null, 'pic-sheet', { id: 'pic-sheet' });
    const checker = el('div', null, 'pic-checker', { id: 'pic-checker' });
    const img = el('img', null, 'pic-img', { id: 'pic-img', alt: t('pic_img_alt') });
    checker.append(img);
    const ruler = el('div', null, 'pic-ruler', { id: 'pic-ruler' });
    for (let mm = 0; mm <= 50; mm++) {
      const tick = el('span', null, mm % 10 === 0 ? 'tick major' : mm % 5 === 0 ? 'tick mid' : 'tick');
      tick.style.left = `${mm}mm`;
      ruler.append(tick);
      if (mm % 10 === 0) {
        const lab = el('span', String(mm), 'tick-label');
        lab.style.left = `${mm}mm`;
        ruler.append(lab);
      }
    }
    sheet.append(ruler, checker);
    const calibNote = el('p', null, 'note', { id: 'pic-calib-note' });
    const [calibWrap, calib] = labelled('pic-calib', 'pic_calib', {
      type: 'number',
      min: '25',
      max: '100',
      step: '0.5',
      inputMode: 'decimal',
    });
    const calibRow = el('div', null, 'filters pic-row');
    calibRow.append(
      calibWrap,
      button(t('pic_calib_apply'), 'secondary', () => {
        const seen = Number(calib.value);
        if (seen >= 25 && seen <= 100) setScale(50 / seen);
      }, { id: 'pic-calib-apply' }),
      button(t('pic_calib_reset'), 'secondary', () => setScale(1), { id: 'pic-calib-reset' }),
    );
    const download = el('a', t('pic_download'), 'button', { id: 'pic-download', href: '#' });
    v.download = download;
    const actions = el('div', null, 'actions');
    actions.append(download);
    // Onto an application: a draft of the seal issuer's (PUT .../picture at the picture's size).
    const toApp = el('div', null, 'filters pic-row', { id: 'pic-to-app-row' });
    const err = errorBox('pic-to-app-error');
    const appSel = el('select', null, null, { id: 'pic-app' });
    const toAppMsg = el('p', null, 'result', { id: 'pic-to-app-result', role: 'status' });
    toAppMsg.hidden = true;
    const loadDrafts = async () => {
      appSel.replaceChildren();
      try {
        const r = await page('/api/v1/applications', { state: 'draft' });
        for (const a of r.items)
          appSel.append(
            el('option', t('pic_app_option', { id: a.id, name: a.seal_name || a.unit_name || '' }), null, {
              value: String(a.id),
            }),
          );
      } catch (e) {
        showError(err, e);
      }
      toApp.hidden = !appSel.options.length;
    };
    toApp.append(
      el('label', t('pic_to_app'), null, { htmlFor: 'pic-app' }),
      appSel,
      button(t('pic_to_app_go'), 'secondary', async () => {
        if (!v.picture || !appSel.value) return;
        const w = Math.round(v.picture.width_mm);
        const h = Math.round(v.picture.height_mm);
        try {
          const res = await fetch(
            `/api/v1/applications/${encodeURIComponent(appSel.value)}/picture?width_mm=${w}&height_mm=${h}`,
            {
              method: 'PUT',
              credentials: 'same-origin',
              headers: { 'Content-Type': 'image/png', Accept: 'application/json' },
              body: bytesOf(v.picture.png),
            },
          );
          const data = await res.json().catch(() => null);
          if (!res.ok)
            throw new ApiError(data && data.error ? data.error : 'http_' + res.status, res.status, data);
          showError(err, null);
          toAppMsg.textContent = t('pic_to_app_done', { id: appSel.value, w, h });
          toAppMsg.hidden = false;
        } catch (e) {
          toAppMsg.hidden = true;
          showError(err, e);
        }
      }, { id: 'pic-to-app' }),
    );
    toApp.hidden = true;
    result.append(
      el('h2', t('pic_result')),
      facts,
      warn,
      el('p', t('pic_real_size_note'), 'note'),
      sheet,
      calibNote,
      calibRow,
      actions,
      toApp,
      err,
      toAppMsg,
    );

    root.append(scanPanel, drawPanel, result);

    // Real size: CSS millimetres (96 px to the inch), times the viewer's calibration.
    function setScale(s) {
      v.scale = s;
      try {
        localStorage.setItem(CALIB_KEY, String(s));
      } catch (e) {
        // Private mode: this page only.
      }
      sheet.style.transform = s === 1 ? '' : `scale(${s})`;
      sheet.style.transformOrigin = 'top left';
      calibNote.textContent = t('pic_calib_note', {
        dpr: String(Math.round(window.devicePixelRatio * 100) / 100),
        scale: String(Math.round(s * 1000) / 1000),
      });
    }
    setScale(storedScale());

    function showPicture(r) {
      result.hidden = false;
      v.picture = r.preview ? null : r;
      toAppMsg.hidden = true;
      if (!r.preview) loadDrafts();
      else toApp.hidden = true;
      dd['pic-result-source'].textContent =
        r.source === 'scan' ? t('pic_source_scan') : r.preview ? t('pic_source_preview') : t('pic_source_drawn');
      dd['pic-result-size'].textContent = t('pic_size_value', {
        w: r.width_mm.toFixed(2),
        h: r.height_mm.toFixed(2),
      });
      dd['pic-result-pixels'].textContent = t('pic_pixels_value', {
        w: r.width_px,
        h: r.height_px,
        dpi: r.dpi,
      });
      warn.hidden = !r.aspect_warning;
      warn.textContent = r.aspect_warning
        ? t('pic_aspect_warning', { pct: String(Math.round(r.aspect_error * 100)) })
        : '';
      img.src = `data:image/png;base64,${r.png}`;
      img.style.width = `${r.width_mm}mm`;
      img.style.height = `${r.height_mm}mm`;
      checker.style.width = `${r.width_mm}mm`;
      checker.style.height = `${r.height_mm}mm`;
      const w = Math.round(r.width_mm);
      const h = Math.round(r.height_mm);
      offerDownload(download, bytesOf(r.png), `seal-${w}x${h}mm.png`, 'image/png');
      result.scrollIntoView({ block: 'nearest' });
    }

    // ---- The scan on the canvas, and the box drawn by mouse.
    function redraw() {
      if (!v.img) return;
      const c = canvas.getContext('2d');
      c.drawImage(v.img, 0, 0, canvas.width, canvas.height);
      if (v.box) {
        const k = canvas.width / v.img.naturalWidth;
        c.strokeStyle = '#0b5fff';
        c.lineWidth = Math.max(2, canvas.width / 400);
        c.setLineDash([8, 4]);
        c.strokeRect(v.box.x * k, v.box.y * k, v.box.w * k, v.box.h * k);
      }
    }
    function setBox(b) {
      v.box = b;
      for (const k of ['x', 'y', 'w', 'h']) boxIn[k].value = b ? String(b[k]) : '';
      redraw();
    }
    // Scan pixels under a pointer event.
    function scanPoint(e) {
      const r = canvas.getBoundingClientRect();
      const k = v.img.naturalWidth / r.width;
      const x = Math.min(Math.max(0, (e.clientX - r.left) * k), v.img.naturalWidth);
      const y = Math.min(Math.max(0, (e.clientY - r.top) * (v.img.naturalHeight / r.height)), v.img.naturalHeight);
      return { x: Math.round(x), y: Math.round(y) };
    }
    canvas.addEventListener('pointerdown', (e) => {
      if (!v.img) return;
      canvas.setPointerCapture(e.pointerId);
      v.drag = scanPoint(e);
      setBox(null);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!v.drag) return;
      const p = scanPoint(e);
      setBox({
        x: Math.min(p.x, v.drag.x),
        y: Math.min(p.y, v.drag.y),
        w: Math.abs(p.x - v.drag.x),
        h: Math.abs(p.y - v.drag.y),
      });
    });
    const endDrag = () => {
      v.drag = null;
    };
    canvas.addEventListener('pointerup', endDrag);
    canvas.addEventListener('pointercancel', endDrag);
    for (const k of ['x', 'y', 'w', 'h'])
      boxIn[k].addEventListener('input', () => {
        const b = {};
        for (const j of ['x', 'y', 'w', 'h']) b[j] = Math.max(0, Math.round(Number(boxIn[j].value) || 0));
        v.box = b;
        redraw();
      });

    file.addEventListener('change', () => {
      showError(scanErr, null, null, scanForm);
      const f = file.files && file.files[0];
      v.scan = null;
      v.img = null;
      stage.hidden = true;
      setBox(null);
      if (!f) return;
      if (f.type !== 'image/jpeg' && f.type !== 'image/png') {
        showError(scanErr, t('pic_err_type'), null, scanForm);
        return;
      }
      if (f.size > MAX_SCAN) {
        showError(scanErr, t('pic_err_big'), null, scanForm);
        return;
      }
      const reader = new FileReader();
      reader.onload = () => {
        if (!v.alive) return;
        const im = new Image();
        im.onload = () => {
          if (!v.alive) return;
          v.scan = f;
          v.img = im;
          // The canvas at most 1600 px wide; the box is kept in the scan's own pixels.
          const k = Math.min(1, 1600 / im.naturalWidth);
          canvas.width = Math.max(1, Math.round(im.naturalWidth * k));
          canvas.height = Math.max(1, Math.round(im.naturalHeight * k));
          stage.hidden = false;
          scanInfo.textContent = t('pic_scan_loaded', { w: im.naturalWidth, h: im.naturalHeight });
          redraw();
        };
        im.onerror = () => showError(scanErr, t('pic_err_decode'), null, scanForm);
        im.src = reader.result;
      };
      reader.readAsDataURL(f);
    });

    scanForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      showError(scanErr, null, null, scanForm);
      if (!v.scan) {
        showError(scanErr, t('pic_err_no_scan'), null, scanForm);
        return;
      }
      if (!v.box || v.box.w < 16 || v.box.h < 16) {
        showError(scanErr, t('pic_err_no_box'), null, scanForm);
        return;
      }
      const q = new URLSearchParams({
        x: String(v.box.x),
        y: String(v.box.y),
        w: String(v.box.w),
        h: String(v.box.h),
        dpi: dpi.value,
      });
      for (const [k, val] of Object.entries(scanSize.values())) q.set(k, String(val));
      scanGo.disabled = true;
      try {
        const r = await postScan(q.toString(), v.scan);
        if (v.alive) showPicture(r);
      } catch (err) {
        if (v.alive) ctx.fail(err, scanErr, null, scanForm);
      } finally {
        scanGo.disabled = false;
      }
    });

    drawForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      showError(drawErr, null, null, drawForm);
      const body = { name: name.value.trim(), shape: drawSize.shape.value, star: star.checked };
      if (preview.checked) body.preview = true;
      if (type.value.trim()) body.type = type.value.trim();
      if (code.value.trim()) body.code = code.value.trim();
      Object.assign(body, drawSize.values());
      drawGo.disabled = true;
      try {
        const r = await api('POST', '/api/v1/pictures/draw', body);
        if (v.alive) showPicture(r);
      } catch (err) {
        if (v.alive) ctx.fail(err, drawErr, null, drawForm);
      } finally {
        drawGo.disabled = false;
      }
    });
  },

  unmount() {
    if (!view) return;
    view.alive = false;
    dropDownload(view.download);
    view = null;
  },
};
