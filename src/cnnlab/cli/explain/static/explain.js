// cnnlab explain: the page's script. Plain JavaScript, no build step; it talks to this server only.
// Every number it shows comes from the server's JSON API (cnnlab's own ops); the script only lays
// them out, colours them and formats them.
'use strict';

(() => {
  const state = {
    model: null,
    samples: [],
    pixels: null, // the current picture, rows of 0-255 as the server converted it
    layers: null, // the last /api/layers answer
    request: 0, // numbers the picture requests, so that a late answer to an old one is dropped
    detail: null, // {kind, layer, channel, row, col} or {kind: 'dense', layer, unit}
    playing: null, // the timer sliding the conv / pool window
    signal: null, // the last /api/signal answer
    signalNumber: 0, // numbers the playground's requests, as `request` does the picture's
    signalStep: 0,
    signalTimer: null,
    activations: null,
  };

  // ---- small helpers -----------------------------------------------------------------------

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else if (key.startsWith('data-')) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of [].concat(children)) if (child) node.append(child);
    return node;
  }

  function svgEl(tag, attrs = {}) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  }

  function fmt(value, digits = 4) {
    if (value === null || value === undefined) return '–';
    const size = Math.abs(value);
    if (size !== 0 && (size >= 1e5 || size < 1e-3)) return value.toExponential(2);
    return value.toFixed(digits);
  }

  function percent(p) {
    return (100 * p).toFixed(1) + '%';
  }

  function showError(message) {
    const box = document.getElementById('error');
    box.textContent = message;
    box.hidden = false;
  }

  function clearError() {
    const box = document.getElementById('error');
    box.textContent = '';
    box.hidden = true;
  }

  // A request to this server: JSON in and out; a 4xx / 5xx answer becomes an Error with the server's message.
  async function api(path, body, { upload = false } = {}) {
    let options = {};
    if (upload)
      options = { method: 'POST', body, headers: { 'Content-Type': body.type || 'application/octet-stream' } };
    else if (body !== undefined) {
      options = { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
    }
    const response = await fetch(path, options);
    const text = await response.text();
    let data = null;
    try {
      data = JSON.parse(text);
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      throw new Error(
        data && data.error ? data.error : `the server answered ${response.status} ${response.statusText}`,
      );
    }
    if (data === null) throw new Error(`the server's answer to ${path} is not JSON`);
    return data;
  }

  // ---- colours -------------------------------------------------------------------------------

  // Signed values: blue (negative) - white - red (positive); non-negative: white - deep purple.
  function colour(value, low, high) {
    if (value === null || value === undefined) return [200, 200, 200];
    if (low < 0 && high > 0) {
      const t = Math.max(-1, Math.min(1, value / Math.max(-low, high)));
      return t >= 0 ? mix([255, 255, 255], [178, 24, 43], t) : mix([255, 255, 255], [33, 102, 172], -t);
    }
    const t = high > low ? (value - low) / (high - low) : 0;
    return mix([255, 255, 255], [63, 0, 125], Math.max(0, Math.min(1, t)));
  }

  function grey(value) {
    const v = Math.round(255 * Math.max(0, Math.min(1, value)));
    return [v, v, v];
  }

  function mix(a, b, t) {
    return a.map((x, i) => Math.round(x + (b[i] - x) * t));
  }

  // Paints a [row][col] array onto a canvas, one canvas pixel per value (CSS scales it up).
  function paint(canvas, values, pick) {
    const height = values.length;
    const width = values[0].length;
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    const image = context.createImageData(width, height);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const [red, green, blue] = pick(values[r][c]);
        const i = 4 * (r * width + c);
        image.data[i] = red;
        image.data[i + 1] = green;
        image.data[i + 2] = blue;
        image.data[i + 3] = 255;
      }
    }
    context.putImageData(image, 0, 0);
  }

  // Paints values at `scale` pixels per cell, with optional rectangles {row, col, rows, cols, colour}.
  function paintScaled(canvas, values, pick, scale, boxes = [], margin = 0) {
    const height = values.length;
    const width = values[0].length;
    canvas.width = (width + 2 * margin) * scale;
    canvas.height = (height + 2 * margin) * scale;
    const context = canvas.getContext('2d');
    context.fillStyle = '#eeeef2';
    context.fillRect(0, 0, canvas.width, canvas.height);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const [red, green, blue] = pick(values[r][c]);
        context.fillStyle = `rgb(${red},${green},${blue})`;
        context.fillRect((c + margin) * scale, (r + margin) * scale, scale, scale);
      }
    }
    for (const box of boxes) {
      context.strokeStyle = box.colour || '#e08a00';
      context.lineWidth = 2;
      context.strokeRect(
        (box.col + margin) * scale + 1,
        (box.row + margin) * scale + 1,
        box.cols * scale - 2,
        box.rows * scale - 2,
      );
    }
  }

  // ---- tabs ----------------------------------------------------------------------------------

  function showView(name) {
    for (const tab of document.querySelectorAll('nav .tab')) tab.classList.toggle('active', tab.dataset.view === name);
    for (const view of document.querySelectorAll('.view')) view.hidden = view.id !== `view-${name}`;
    if (name === 'activations' && !state.activations) loadActivations().catch(err => showError(err.message));
    if (name === 'signals' && !state.signal) computeSignal();
  }

  // ---- the network view: pictures ----------------------------------------------------------

  async function loadModel() {
    state.model = await api('/api/model');
    document.getElementById('model-title').textContent = state.model.title;
    state.samples = await api('/api/samples');
    const box = document.getElementById('samples');
    state.samples.forEach(sample => {
      const canvas = el('canvas', {
        'data-index': sample.index,
        'data-class': sample.class,
        title: `${sample.class} (test image ${sample.test_index})`,
      });
      paint(canvas, sample.pixels, v => grey(v / 255));
      canvas.addEventListener('click', () =>
        choosePicture({ sample: sample.index }, `test image ${sample.test_index}: ${sample.class}`, canvas),
      );
      box.append(canvas);
    });
    const first = box.querySelector('canvas');
    if (first)
      await choosePicture({ sample: 0 }, `test image ${state.samples[0].test_index}: ${state.samples[0].class}`, first);
  }

  // `picture` is {sample: i} or {file: Blob, invert: 'auto' | 'false'}.
  async function choosePicture(picture, label, chosenCanvas = null) {
    clearError();
    const request = ++state.request;
    try {
      const predicted = picture.file
        ? await api(`/api/predict?invert=${picture.invert}`, picture.file, { upload: true })
        : await api('/api/predict', { sample: picture.sample });
      const layers = await api('/api/layers', { pixels: predicted.pixels });
      if (request !== state.request) return;
      state.pixels = predicted.pixels;
      state.layers = layers;
      for (const canvas of document.querySelectorAll('#samples canvas'))
        canvas.classList.toggle('chosen', canvas === chosenCanvas);
      paint(document.getElementById('current-picture'), state.pixels, v => grey(v / 255));
      document.getElementById('picture-source').textContent = label;
      renderTop(predicted);
      renderColumns(layers);
      if (state.detail) showDetail(state.detail);
      if (document.getElementById('signal-image').value === 'picture') computeSignal();
      document.body.dataset.picture = String(request);
    } catch (err) {
      if (request === state.request) showError(err.message);
    }
  }

  function renderTop(predicted) {
    const list = document.getElementById('top-classes');
    list.replaceChildren(
      ...predicted.top.map(entry =>
        el('li', { 'data-class': entry.class, 'data-probability': entry.probability }, [
          el('span', { class: 'name', text: `${entry.class} ` }),
          el('span', { class: 'probability', text: percent(entry.probability) }),
          el('span', { class: 'bar', style: `width: ${Math.max(1, 100 * entry.probability)}%` }),
        ]),
      ),
    );
    list.dataset.softmaxApplied = predicted.softmax_applied;
  }

  function setupDrawing() {
    const canvas = document.getElementById('draw');
    const context = canvas.getContext('2d');
    const clear = () => {
      context.fillStyle = '#000';
      context.fillRect(0, 0, canvas.width, canvas.height);
    };
    clear();
    let last = null;
    const point = event => {
      const box = canvas.getBoundingClientRect();
      return [
        ((event.clientX - box.left) * canvas.width) / box.width,
        ((event.clientY - box.top) * canvas.height) / box.height,
      ];
    };
    const stroke = to => {
      context.strokeStyle = '#fff';
      context.lineWidth = 18;
      context.lineCap = 'round';
      context.beginPath();
      context.moveTo(...(last || to));
      context.lineTo(...to);
      context.stroke();
      last = to;
    };
    canvas.addEventListener('pointerdown', event => {
      canvas.setPointerCapture(event.pointerId);
      last = null;
      stroke(point(event));
    });
    canvas.addEventListener('pointermove', event => {
      if (last) stroke(point(event));
    });
    const end = () => {
      last = null;
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    document.getElementById('draw-clear').addEventListener('click', clear);
    document.getElementById('draw-use').addEventListener('click', () => {
      canvas.toBlob(blob => choosePicture({ file: blob, invert: 'false' }, 'your drawing'), 'image/png');
    });
  }

  function setupUpload() {
    const input = document.getElementById('upload');
    input.addEventListener('change', () => {
      const file = input.files[0];
      if (file) choosePicture({ file, invert: 'auto' }, `uploaded: ${file.name}`);
      input.value = '';
    });
  }

  // ---- the network view: layer columns -----------------------------------------------------

  const MAP_SIZE = 64; // about the CSS pixels of a feature map's longer side (each cell a whole number of pixels)

  function renderColumns(layers) {
    const box = document.getElementById('columns');
    const columns = [makeColumn(layers.input, -1)];
    layers.layers.forEach((layer, i) => columns.push(makeColumn(layer, i)));
    box.replaceChildren(...columns);
  }

  function makeColumn(column, index) {
    const described = index >= 0 ? state.model.layers[index] : null;
    const head = [
      el('h3', { text: index >= 0 ? column.name : 'input' }),
      el('p', {
        class: 'info',
        text: `${described ? described.class + ' · ' : ''}${column.shape.join('×')}${described && described.summary ? ' · ' + described.summary : ''}`,
      }),
    ];
    const node = el('div', { class: 'column', 'data-layer': index, 'data-kind': column.kind }, head);
    if (column.maps) {
      const scale = Math.ceil(MAP_SIZE / Math.max(column.shape[0], column.shape[1]));
      column.maps.forEach((map, channel) => {
        const canvas = el('canvas', { class: 'map', 'data-layer': index, 'data-channel': channel });
        const pick = index < 0 ? v => grey(v) : v => colour(v, column.min, column.max);
        paint(canvas, map, pick);
        canvas.style.width = `${map[0].length * scale}px`;
        canvas.style.height = `${map.length * scale}px`;
        canvas.addEventListener('mousemove', event => hoverMap(event, column, index, channel));
        canvas.addEventListener('mouseleave', hideTooltip);
        canvas.addEventListener('click', event => clickMap(event, column, index, channel));
        node.append(canvas);
      });
    } else if (column.unit_names || column.units.length <= 16) {
      node.append(namedUnits(column, index));
    } else {
      node.append(unitGrid(column, index));
    }
    return node;
  }

  // The cell under the mouse: measured from the canvas's content box (inside its border).
  function cellAt(event, canvas, rows, cols) {
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left - canvas.clientLeft;
    const y = event.clientY - box.top - canvas.clientTop;
    const row = Math.min(rows - 1, Math.max(0, Math.floor((y / canvas.clientHeight) * rows)));
    const col = Math.min(cols - 1, Math.max(0, Math.floor((x / canvas.clientWidth) * cols)));
    return [row, col];
  }

  function hoverMap(event, column, index, channel) {
    const map = column.maps[channel];
    const [row, col] = cellAt(event, event.target, map.length, map[0].length);
    const value = map[row][col];
    const parts = [
      el('div', { class: 'tip-title', text: `${index >= 0 ? column.name : 'input'} · map ${channel}` }),
      el('div', {}, [
        `row ${row}, col ${col}: `,
        el('b', { class: 'tip-value', 'data-value': value, text: fmt(value) }),
      ]),
    ];
    if (column.kind === 'conv') {
      const filter = column.filters[channel]; // [row][col][in_channel]
      const inChannels = filter[0][0].length;
      parts.push(
        el(
          'div',
          {
            text: `made by filter ${channel}: ${filter.length}×${filter[0].length} on ${inChannels} input channel(s), bias `,
          },
          [el('b', { class: 'tip-bias', 'data-value': column.biases[channel], text: fmt(column.biases[channel]) })],
        ),
      );
      const shown = Math.min(inChannels, 4);
      for (let c = 0; c < shown; c++) {
        if (inChannels > 1) parts.push(el('div', { class: 'hint', text: `input channel ${c}` }));
        parts.push(
          grid(
            filter.map(r => r.map(cell => cell[c])),
            { class: 'grid tip-filter', 'data-in-channel': c },
          ),
        );
      }
      if (inChannels > shown)
        parts.push(el('div', { class: 'hint', text: `(and ${inChannels - shown} more input channels)` }));
    }
    showTooltip(event, parts, { layer: index, channel, row, col });
  }

  function showTooltip(event, parts, data) {
    const tip = document.getElementById('tooltip');
    tip.replaceChildren(...parts);
    for (const [key, value] of Object.entries(data)) tip.dataset[key] = value;
    tip.hidden = false;
    const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = Math.min(event.clientY + 14, window.innerHeight - tip.offsetHeight - 4);
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${Math.max(0, y)}px`;
  }

  function hideTooltip() {
    document.getElementById('tooltip').hidden = true;
  }

  function clickMap(event, column, index, channel) {
    if (column.kind !== 'conv' && column.kind !== 'pool') return;
    const map = column.maps[channel];
    const [row, col] = cellAt(event, event.target, map.length, map[0].length);
    stopSliding();
    showDetail({ kind: column.kind, layer: index, channel, row, col });
  }

  function namedUnits(column, index) {
    const names = column.unit_names || column.units.map((_, i) => `unit ${i}`);
    const best = column.units.indexOf(Math.max(...column.units));
    const box = el('div', { class: 'named-units' });
    column.units.forEach((value, unit) => {
      const [red, green, blue] = colour(value, Math.min(0, column.min), column.max);
      const row = el(
        'div',
        { class: 'named-unit' + (unit === best ? ' top' : ''), 'data-layer': index, 'data-unit': unit },
        [
          el('span', { text: names[unit] }),
          el('span', { class: 'cell', style: `background: rgb(${red},${green},${blue})` }),
          el('span', { class: 'unit-value', 'data-value': value, text: fmt(value, 3) }),
        ],
      );
      if (column.kind === 'dense')
        row.addEventListener('click', () => showDetail({ kind: 'dense', layer: index, unit }));
      box.append(row);
    });
    return box;
  }

  function unitGrid(column, index) {
    const count = column.units.length;
    const perRow = Math.max(1, Math.ceil(Math.sqrt(count / 4)));
    const rows = Math.ceil(count / perRow);
    const cell = count <= 128 ? 6 : 4;
    const values = [];
    for (let r = 0; r < rows; r++)
      values.push(
        column.units
          .slice(r * perRow, (r + 1) * perRow)
          .concat(Array(Math.max(0, (r + 1) * perRow - count)).fill(null)),
      );
    const canvas = el('canvas', { class: 'units', 'data-layer': index, 'data-per-row': perRow });
    paint(canvas, values, v => colour(v, Math.min(0, column.min), column.max));
    canvas.style.width = `${perRow * cell}px`;
    canvas.style.height = `${rows * cell}px`;
    const unitAt = event => {
      const [row, col] = cellAt(event, canvas, rows, perRow);
      const unit = row * perRow + col;
      return unit < count ? unit : null;
    };
    canvas.addEventListener('mousemove', event => {
      const unit = unitAt(event);
      if (unit === null) return hideTooltip();
      const value = column.units[unit];
      showTooltip(
        event,
        [
          el('div', { class: 'tip-title', text: `${column.name} · unit ${unit}` }),
          el('div', {}, ['value: ', el('b', { class: 'tip-value', 'data-value': value, text: fmt(value) })]),
          column.kind === 'dense' ? el('div', { class: 'hint', text: 'click for its largest contributions' }) : null,
        ],
        { layer: index, unit },
      );
    });
    canvas.addEventListener('mouseleave', hideTooltip);
    if (column.kind === 'dense') {
      canvas.addEventListener('click', event => {
        const unit = unitAt(event);
        if (unit !== null) showDetail({ kind: 'dense', layer: index, unit });
      });
    }
    return canvas;
  }

  function grid(rows, attrs = {}, cellClass = () => '') {
    const table = el('table', attrs);
    rows.forEach((row, r) => {
      table.append(
        el(
          'tr',
          {},
          row.map((value, c) =>
            el('td', {
              class: cellClass(r, c),
              'data-value': value === null ? '' : value,
              text: value === null ? 'pad' : fmt(value, 3),
            }),
          ),
        ),
      );
    });
    return table;
  }

  // ---- the network view: one operation, step by step ----------------------------------------

  async function showDetail(detail) {
    state.detail = detail;
    const panel = document.getElementById('detail');
    try {
      const body = { pixels: state.pixels, layer: detail.layer };
      let step;
      if (detail.kind === 'dense') step = await api('/api/dense-step', { ...body, unit: detail.unit });
      else
        step = await api(`/api/${detail.kind}-step`, {
          ...body,
          channel: detail.channel,
          row: detail.row,
          col: detail.col,
        });
      if (state.detail !== detail) return;
      const render = { conv: renderConvStep, pool: renderPoolStep, dense: renderDenseStep }[detail.kind];
      document.getElementById('detail-body').replaceChildren(...render(step));
      document.getElementById('detail-moves').hidden = detail.kind === 'dense';
      panel.dataset.kind = detail.kind;
      panel.dataset.layer = detail.layer;
      panel.hidden = false;
      for (const canvas of document.querySelectorAll('canvas.map.selected')) canvas.classList.remove('selected');
      const selected = document.querySelector(
        `canvas.map[data-layer="${detail.layer}"][data-channel="${detail.channel}"]`,
      );
      if (selected) selected.classList.add('selected');
      document.body.dataset.step = `${detail.kind}:${detail.layer}:${detail.channel ?? detail.unit}:${detail.row ?? ''}:${detail.col ?? ''}`;
    } catch (err) {
      stopSliding();
      showError(err.message);
    }
  }

  function layerInput(layerIndex) {
    return layerIndex === 0 ? state.layers.input : state.layers.layers[layerIndex - 1];
  }

  function windowBox(step) {
    return { row: step.origin[0], col: step.origin[1], rows: step.extent[0], cols: step.extent[1] };
  }

  // How many padding cells to draw around a map so that the window fits on the canvas.
  function marginFor(step, map) {
    return Math.max(
      1,
      -step.origin[0],
      -step.origin[1],
      step.origin[0] + step.extent[0] - map.length,
      step.origin[1] + step.extent[1] - map[0].length,
    );
  }

  function inputFigure(step, channel, caption) {
    const column = layerInput(step.layer);
    const map = column.maps[channel];
    const canvas = el('canvas', { class: 'step-input' });
    const pick = step.layer === 0 ? v => grey(v) : v => colour(v, column.min, column.max);
    const scale = Math.max(2, Math.floor(168 / Math.max(map.length, map[0].length)));
    paintScaled(canvas, map, pick, scale, [windowBox(step)], marginFor(step, map));
    return el('figure', {}, [el('figcaption', { text: caption }), canvas]);
  }

  function outputFigure(step) {
    const column = state.layers.layers[step.layer];
    const map = column.maps[step.channel];
    const canvas = el('canvas', { class: 'step-output' });
    const scale = Math.max(2, Math.floor(168 / Math.max(map.length, map[0].length)));
    paintScaled(
      canvas,
      map,
      v => colour(v, column.min, column.max),
      scale,
      [{ row: step.row, col: step.col, rows: 1, cols: 1, colour: '#e08a00' }],
      1,
    );
    return el('figure', {}, [el('figcaption', { text: `${step.name}, map ${step.channel}` }), canvas]);
  }

  function renderConvStep(step) {
    document.getElementById('detail-title').textContent =
      `${step.name}: map ${step.channel} at row ${step.row}, col ${step.col}`;
    const pad = (r, c) => (step.rows[r] < 0 || step.cols[c] < 0 ? 'pad' : '');
    const channels = step.input_channels.length;
    const shown = Math.min(channels, 4);
    const parts = [
      el('div', { class: 'figure-pair' }, [
        inputFigure(
          step,
          step.input_channels[0],
          `the window on the input${channels > 1 ? ` (channel ${step.input_channels[0]} of ${channels})` : ''}`,
        ),
        outputFigure(step),
      ]),
    ];
    for (let c = 0; c < shown; c++) {
      const slice = cube => cube.map(row => row.map(cell => cell[c]));
      const patch = slice(step.patch); // 0 on the padding, drawn hatched
      parts.push(
        el('div', { class: 'row step-channel', 'data-in-channel': c }, [
          el('figure', {}, [
            el('figcaption', { text: channels > 1 ? `input patch, channel ${step.input_channels[c]}` : 'input patch' }),
            grid(patch, { class: 'grid step-patch' }, pad),
          ]),
          el('span', { class: 'op-sign', text: '×' }),
          el('figure', {}, [
            el('figcaption', { text: `filter ${step.channel}` }),
            grid(slice(step.filter), { class: 'grid step-filter' }),
          ]),
          el('span', { class: 'op-sign', text: '=' }),
          el('figure', {}, [
            el('figcaption', { text: 'products' }),
            grid(slice(step.products), { class: 'grid step-products' }, pad),
          ]),
        ]),
      );
    }
    if (channels > shown)
      parts.push(el('p', { class: 'hint', text: `(and ${channels - shown} more input channels, summed too)` }));
    const value = (id, v) => el('b', { id, 'data-value': v ?? '', text: fmt(v) });
    parts.push(
      el('p', { class: 'equation' }, [
        'sum of the products ',
        value('step-sum', step.sum),
        ' + bias ',
        value('step-bias', step.bias),
        ' = ',
        value('step-pre', step.pre_activation),
      ]),
    );
    parts.push(
      el('p', { class: 'equation' }, [
        `${step.activation}(`,
        fmt(step.pre_activation),
        ') = ',
        value('step-value', step.value),
        step.activation === 'relu' ? ' (ReLU keeps positive values, turns negative ones into 0)' : '',
      ]),
    );
    parts.push(
      el('p', { class: 'hint' }, [
        'the layer computed ',
        value('step-layer-value', step.layer_value),
        ' at this position (the Conv2D layer run on its whole input)',
      ]),
    );
    return parts;
  }

  function renderPoolStep(step) {
    document.getElementById('detail-title').textContent =
      `${step.name}: map ${step.channel} at row ${step.row}, col ${step.col}`;
    const [maxRow, maxCol] = step.argmax || [-1, -1];
    const parts = [
      el('div', { class: 'figure-pair' }, [
        inputFigure(step, step.channel, 'the window on the input map'),
        outputFigure(step),
      ]),
    ];
    parts.push(
      el('figure', {}, [
        el('figcaption', { text: 'the window' }),
        grid(step.window, { class: 'grid step-window' }, (r, c) =>
          r === maxRow && c === maxCol ? 'win' : step.window[r][c] === null ? 'pad' : '',
        ),
      ]),
    );
    const value = (id, v) => el('b', { id, 'data-value': v, text: fmt(v) });
    parts.push(el('p', { class: 'equation' }, [`${step.op} of the window = `, value('step-result', step.result)]));
    parts.push(
      el('p', { class: 'hint' }, [
        'the layer computed ',
        value('step-layer-value', step.layer_value),
        ' at this position',
      ]),
    );
    return parts;
  }

  function renderDenseStep(step) {
    document.getElementById('detail-title').textContent =
      `${step.name}: unit ${step.unit}${step.unit_name ? ` (${step.unit_name})` : ''}, from ${step.inputs} inputs`;
    const source = entry =>
      entry.source ? `map ${entry.source[2]} (row ${entry.source[0]}, col ${entry.source[1]})` : '';
    const rows = (entries, sign) =>
      entries.map((entry, rank) =>
        el('tr', { class: `contribution ${sign}`, 'data-input': entry.input }, [
          el('td', { text: String(rank + 1) }),
          el('td', { text: `input ${entry.input}` }),
          el('td', { text: source(entry) }),
          el('td', { class: 'x', 'data-value': entry.x, text: fmt(entry.x) }),
          el('td', { class: 'w', 'data-value': entry.weight, text: fmt(entry.weight) }),
          el('td', { class: 'product', 'data-value': entry.product, text: fmt(entry.product) }),
        ]),
      );
    const head = el(
      'tr',
      {},
      ['#', 'input', 'from', 'x', 'weight', 'x × weight'].map(t => el('th', { text: t })),
    );
    const value = (id, v) => el('b', { id, 'data-value': v, text: fmt(v) });
    const parts = [
      el('h3', { text: 'the largest contributions (x × weight)' }),
      el('table', { class: 'contributions', id: 'dense-largest' }, [head, ...rows(step.largest, 'positive')]),
      el('h3', { text: 'the most negative contributions' }),
      el('table', { class: 'contributions', id: 'dense-smallest' }, [
        head.cloneNode(true),
        ...rows(step.smallest, 'negative'),
      ]),
      el('p', { class: 'equation' }, ['all the others together: ', value('step-rest', step.rest)]),
      el('p', { class: 'equation' }, [
        'sum of all contributions ',
        value('step-sum', step.sum),
        ' + bias ',
        value('step-bias', step.bias),
        ' = ',
        value('step-pre', step.pre_activation),
      ]),
    ];
    if (step.activation === 'softmax') {
      parts.push(
        el('p', { class: 'equation' }, [
          'softmax over all ',
          String(step.pre_activations.length),
          ' units: exp(',
          fmt(step.pre_activation),
          ') / Σ exp(z) = ',
          value('step-value', step.value),
        ]),
      );
    } else {
      parts.push(
        el('p', { class: 'equation' }, [
          `${step.activation}(`,
          fmt(step.pre_activation),
          ') = ',
          value('step-value', step.value),
        ]),
      );
    }
    parts.push(el('p', { class: 'hint' }, ['the layer computed ', value('step-layer-value', step.layer_value)]));
    return parts;
  }

  function moveDetail(direction) {
    const detail = state.detail;
    if (!detail || detail.kind === 'dense') return false;
    const shape = state.layers.layers[detail.layer].shape;
    const moved = { ...detail };
    if (direction === 'left') moved.col -= 1;
    if (direction === 'right') moved.col += 1;
    if (direction === 'up') moved.row -= 1;
    if (direction === 'down') moved.row += 1;
    if (moved.row < 0 || moved.col < 0 || moved.row >= shape[0] || moved.col >= shape[1]) return false;
    showDetail(moved);
    return true;
  }

  function stopSliding() {
    if (state.playing) clearInterval(state.playing);
    state.playing = null;
    document.getElementById('detail-play').textContent = 'Slide along the row';
  }

  function setupDetail() {
    for (const button of document.querySelectorAll('#detail-moves [data-move]')) {
      button.addEventListener('click', () => {
        stopSliding();
        moveDetail(button.dataset.move);
      });
    }
    document.getElementById('detail-play').addEventListener('click', () => {
      if (state.playing) return stopSliding();
      if (state.detail && state.detail.kind !== 'dense') showDetail({ ...state.detail, col: 0 });
      document.getElementById('detail-play').textContent = 'Stop';
      state.playing = setInterval(() => {
        if (!moveDetail('right')) stopSliding();
      }, 600);
    });
  }

  // ---- the signal playground ------------------------------------------------------------------

  const KERNELS = {
    edge: '1 0 -1\n2 0 -2\n1 0 -1',
    blur: '0.111 0.111 0.111\n0.111 0.111 0.111\n0.111 0.111 0.111',
    sharpen: '0 -1 0\n-1 5 -1\n0 -1 0',
    identity: '0 0 0\n0 1 0\n0 0 0',
  };
  const SMALL_IMAGE = '0 0 0 0 0 0\n0 0 1 1 0 0\n0 0 1 1 0 0\n0 1 1 1 1 0\n0 1 0 0 1 0\n0 0 0 0 0 0';

  function parseNumbers(text, name) {
    const tokens = text
      .trim()
      .split(/[\s,;]+/)
      .filter(Boolean);
    if (!tokens.length) throw new Error(`${name}: type some numbers, separated by spaces`);
    return tokens.map(token => {
      const value = Number(token);
      if (!Number.isFinite(value)) throw new Error(`${name}: '${token}' is not a number`);
      return value;
    });
  }

  function parseRows(text, name) {
    return text
      .trim()
      .split('\n')
      .filter(line => line.trim())
      .map(line => parseNumbers(line, name));
  }

  function signalRequest() {
    const two = document.getElementById('signal-dims').value === '2';
    const request = {
      op: document.getElementById('signal-op').value,
      mode: document.getElementById('signal-mode').value,
      stride: Number(document.getElementById('signal-stride').value),
    };
    if (!two) {
      request.in1 = parseNumbers(document.getElementById('signal-in1').value, 'signal x');
      request.in2 = parseNumbers(document.getElementById('signal-in2').value, 'kernel y');
    } else {
      const source = document.getElementById('signal-image').value;
      if (source === 'picture' && state.pixels)
        request.in1 = state.pixels.map(row => row.map(v => Math.round((v / 255) * 1000) / 1000));
      else request.in1 = parseRows(document.getElementById('signal-image-text').value, 'image');
      request.in2 = parseRows(document.getElementById('signal-kernel-text').value, 'kernel');
    }
    return request;
  }

  async function computeSignal() {
    stopSignal();
    let request;
    try {
      request = signalRequest();
    } catch (err) {
      return showError(err.message);
    }
    clearError();
    const number = ++state.signalNumber;
    document.body.dataset.signalAsked = String(number);
    try {
      const result = await api('/api/signal', request);
      if (number !== state.signalNumber) return;
      state.signal = { request, result };
      const slider = document.getElementById('signal-step');
      slider.max = String(result.steps.length - 1);
      state.signalStep = Math.min(state.signalStep, result.steps.length - 1);
      slider.value = String(state.signalStep);
      document.getElementById('signal-call').textContent = result.function;
      const axes = result.sizes.length === 1 ? [''] : ['rows: ', 'cols: '];
      document.getElementById('signal-formula').textContent = result.sizes
        .map(
          (size, i) => `${axes[i]}n = ${size.n}, k = ${size.k}, s = ${size.stride}, ${request.mode}: ${size.formula}`,
        )
        .join('; ');
      renderSignalOutput();
      renderSignalStep();
      document.body.dataset.signal = JSON.stringify([request.op, request.mode, request.stride, result.shape]);
      document.body.dataset.signalShown = String(number);
    } catch (err) {
      if (number === state.signalNumber) showError(err.message);
    }
  }

  function renderSignalOutput() {
    const { result } = state.signal;
    const box = document.getElementById('signal-output');
    if (result.shape.length === 1) {
      box.replaceChildren(
        el('div', { class: 'strip' }, [
          el('span', { class: 'label', text: 'output' }),
          ...result.output.map((v, j) =>
            el('span', { class: 'cell out', 'data-index': j, 'data-value': v, text: fmt(v, 2) }),
          ),
        ]),
      );
    } else {
      box.replaceChildren(grid(result.output, { class: 'grid signal-output-grid' }));
    }
  }

  function renderSignalStep() {
    const { request, result } = state.signal;
    const index = state.signalStep;
    const step = result.steps[index];
    document.getElementById('signal-step-text').textContent =
      `output ${step.out.join(', ')} of ${result.shape.join('×')}`;
    const stage = document.getElementById('signal-stage');
    if (result.shape.length === 1) {
      stage.replaceChildren(...signalStrips1d(request, result, step, index));
      const terms = step.products.map(
        (p, t) => `${fmt(windowValue1d(request.in1, step.origin[0] + t), 2)}·${fmt(result.kernel_laid[t], 2)}`,
      );
      document.getElementById('signal-step-sum').textContent =
        `output[${step.out[0]}] = ${terms.join(' + ')} = ${fmt(step.value, 4)}`;
    } else {
      stage.replaceChildren(signalStage2d(request, result, step));
      document.getElementById('signal-step-sum').textContent =
        `output[${step.out.join(', ')}] = sum of window × kernel = ${fmt(step.value, 4)}`;
    }
    for (const cell of document.querySelectorAll('#signal-output .active')) cell.classList.remove('active');
    const outputCell =
      result.shape.length === 1
        ? document.querySelector(`#signal-output .cell[data-index="${step.out[0]}"]`)
        : document.querySelectorAll('#signal-output tr')[step.out[0]].children[step.out[1]];
    outputCell.classList.add('active');
  }

  function windowValue1d(x, position) {
    return position >= 0 && position < x.length ? x[position] : 0;
  }

  function signalStrips1d(request, result, step, index) {
    const x = request.in1;
    const k = result.kernel_laid.length;
    const origins = result.steps.map(s => s.origin[0]);
    const low = Math.min(0, ...origins);
    const high = Math.max(x.length - 1, ...origins.map(o => o + k - 1));
    const positions = [];
    for (let p = low; p <= high; p++) positions.push(p);
    const strip = (label, cells) =>
      el('div', { class: 'strip' }, [el('span', { class: 'label', text: label }), ...cells]);
    const inWindow = p => p >= step.origin[0] && p < step.origin[0] + k;
    const xCells = positions.map(p =>
      el('span', {
        class: `cell${p < 0 || p >= x.length ? ' pad' : ''}${inWindow(p) ? ' active' : ''}`,
        'data-position': p,
        text: fmt(windowValue1d(x, p), 2),
      }),
    );
    const kernelCells = positions.map(p =>
      inWindow(p)
        ? el('span', { class: 'cell active kernel', text: fmt(result.kernel_laid[p - step.origin[0]], 2) })
        : el('span', { class: 'cell spacer' }),
    );
    const productCells = positions.map(p =>
      inWindow(p)
        ? el('span', {
            class: 'cell product',
            'data-value': step.products[p - step.origin[0]],
            text: fmt(step.products[p - step.origin[0]], 2),
          })
        : el('span', { class: 'cell spacer' }),
    );
    const laid = request.op === 'convolve' ? 'kernel, flipped' : 'kernel';
    return [
      strip('x (0 = pad)', xCells),
      strip(laid, kernelCells),
      strip('products', productCells),
      el('p', {
        class: 'hint',
        text: `step ${index + 1} of ${result.steps.length}: the window starts at x[${step.origin[0]}]`,
      }),
    ];
  }

  function signalStage2d(request, result, step) {
    const x = request.in1;
    const [kh, kw] = [result.kernel_laid.length, result.kernel_laid[0].length];
    const margin = Math.max(kh, kw) - 1;
    const scale = Math.max(6, Math.floor(200 / (Math.max(x.length, x[0].length) + 2 * margin)));
    const flat = x.flat();
    const low = Math.min(...flat);
    const high = Math.max(...flat);
    const input = el('canvas', { class: 'signal-input' });
    paintScaled(
      input,
      x,
      v => colour(v, low, high),
      scale,
      [{ row: step.origin[0], col: step.origin[1], rows: kh, cols: kw }],
      margin,
    );
    const out = result.output;
    const outFlat = out.flat();
    const outCanvas = el('canvas', { class: 'signal-output-map' });
    paintScaled(
      outCanvas,
      out,
      v => colour(v, Math.min(...outFlat), Math.max(...outFlat)),
      Math.max(6, Math.floor(200 / Math.max(out.length, out[0].length))),
      [{ row: step.out[0], col: step.out[1], rows: 1, cols: 1 }],
    );
    const windowRows = [];
    for (let r = 0; r < kh; r++) {
      const row = [];
      for (let c = 0; c < kw; c++) {
        const [i, j] = [step.origin[0] + r, step.origin[1] + c];
        row.push(i >= 0 && j >= 0 && i < x.length && j < x[0].length ? x[i][j] : 0);
      }
      windowRows.push(row);
    }
    return el('div', { class: 'stage-2d' }, [
      el('figure', {}, [el('figcaption', { text: 'the image (grey margin: zero padding) and the window' }), input]),
      el('figure', {}, [el('figcaption', { text: 'window' }), grid(windowRows, { class: 'grid' })]),
      el('span', { class: 'op-sign', text: '×' }),
      el('figure', {}, [
        el('figcaption', { text: request.op === 'convolve' ? 'kernel, flipped' : 'kernel' }),
        grid(result.kernel_laid, { class: 'grid' }),
      ]),
      el('span', { class: 'op-sign', text: '=' }),
      el('figure', {}, [
        el('figcaption', { text: 'products' }),
        grid(step.products, { class: 'grid signal-products' }),
      ]),
      el('figure', {}, [el('figcaption', { text: 'the output' }), outCanvas]),
    ]);
  }

  function stopSignal() {
    if (state.signalTimer) clearInterval(state.signalTimer);
    state.signalTimer = null;
    document.getElementById('signal-play').textContent = 'Play';
  }

  function setupSignals() {
    document.getElementById('signal-image-text').value = SMALL_IMAGE;
    document.getElementById('signal-kernel-text').value = KERNELS.edge;
    const recompute = () => computeSignal();
    for (const id of [
      'signal-op',
      'signal-mode',
      'signal-stride',
      'signal-in1',
      'signal-in2',
      'signal-image',
      'signal-image-text',
      'signal-kernel-text',
    ]) {
      document.getElementById(id).addEventListener('change', recompute);
    }
    document.getElementById('signal-dims').addEventListener('change', () => {
      const two = document.getElementById('signal-dims').value === '2';
      document.getElementById('signal-1d').hidden = two;
      document.getElementById('signal-2d').hidden = !two;
      state.signalStep = 0;
      computeSignal();
    });
    document.getElementById('signal-preset').addEventListener('change', () => {
      const preset = document.getElementById('signal-preset').value;
      if (KERNELS[preset]) document.getElementById('signal-kernel-text').value = KERNELS[preset];
      computeSignal();
    });
    document.getElementById('signal-kernel-text').addEventListener('input', () => {
      document.getElementById('signal-preset').value = 'custom';
    });
    document.getElementById('signal-step').addEventListener('input', () => {
      stopSignal();
      state.signalStep = Number(document.getElementById('signal-step').value);
      if (state.signal) renderSignalStep();
    });
    document.getElementById('signal-play').addEventListener('click', () => {
      if (state.signalTimer) return stopSignal();
      if (!state.signal) return;
      document.getElementById('signal-play').textContent = 'Pause';
      if (state.signalStep >= state.signal.result.steps.length - 1) state.signalStep = -1;
      state.signalTimer = setInterval(() => {
        if (state.signalStep >= state.signal.result.steps.length - 1) return stopSignal();
        state.signalStep += 1;
        document.getElementById('signal-step').value = String(state.signalStep);
        renderSignalStep();
      }, 500);
    });
  }

  // ---- activation functions -------------------------------------------------------------------

  const CURVE_COLOURS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02'];
  const PLOT = { left: 40, top: 12, width: 405, height: 260 };

  async function loadActivations() {
    state.activations = await api('/api/activations');
    const box = document.getElementById('activation-choices');
    state.activations.functions.forEach((fn, i) => {
      const input = el('input', { type: 'checkbox', checked: true, 'data-function': fn.name });
      input.addEventListener('change', drawActivations);
      box.append(el('label', { style: `color: ${CURVE_COLOURS[i % CURVE_COLOURS.length]}` }, [input, ` ${fn.name}`]));
    });
    const slider = document.getElementById('activation-x');
    slider.max = String(state.activations.x.length - 1);
    slider.addEventListener('input', drawActivations);
    drawActivations();
  }

  function chosenFunctions() {
    const on = new Set(
      [...document.querySelectorAll('#activation-choices input:checked')].map(i => i.dataset.function),
    );
    return state.activations.functions
      .map((fn, i) => ({ ...fn, colour: CURVE_COLOURS[i % CURVE_COLOURS.length] }))
      .filter(fn => on.has(fn.name));
  }

  function drawActivations() {
    const { x } = state.activations;
    const index = Number(document.getElementById('activation-x').value);
    const functions = chosenFunctions();
    document.getElementById('activation-x-text').textContent = `x = ${fmt(x[index], 2)}`;
    document.getElementById('activation-x-text').dataset.value = x[index];
    drawPlot(document.getElementById('plot-values'), x, functions, 'values', index, true);
    drawPlot(document.getElementById('plot-derivatives'), x, functions, 'derivatives', index, false);
    const body = document.querySelector('#activation-readout tbody');
    body.replaceChildren(
      ...functions.map(fn =>
        el('tr', { 'data-function': fn.name }, [
          el('td', { text: fn.name, style: `color: ${fn.colour}` }),
          el('td', { class: 'value', 'data-value': fn.values[index], text: fmt(fn.values[index]) }),
          el('td', { class: 'derivative', 'data-value': fn.derivatives[index], text: fmt(fn.derivatives[index]) }),
        ]),
      ),
    );
    document.body.dataset.activationIndex = String(index);
  }

  function drawPlot(svg, x, functions, key, index, tangent) {
    const all = functions.flatMap(fn => fn[key]);
    let low = Math.min(0, ...all);
    let high = Math.max(1, ...all);
    const pad = 0.05 * (high - low);
    low -= pad;
    high += pad;
    const [xLow, xHigh] = [x[0], x[x.length - 1]];
    const px = v => PLOT.left + ((v - xLow) / (xHigh - xLow)) * PLOT.width;
    const py = v => PLOT.top + ((high - v) / (high - low)) * PLOT.height;
    Object.assign(svg.dataset, {
      xMin: xLow,
      xMax: xHigh,
      yMin: low,
      yMax: high,
      left: PLOT.left,
      top: PLOT.top,
      width: PLOT.width,
      height: PLOT.height,
    });
    const children = [
      svgEl('line', { class: 'axis', x1: PLOT.left, x2: PLOT.left + PLOT.width, y1: py(0), y2: py(0) }),
      svgEl('line', { class: 'axis', x1: px(0), x2: px(0), y1: PLOT.top, y2: PLOT.top + PLOT.height }),
    ];
    for (const tick of [-6, -4, -2, 2, 4, 6]) {
      const label = svgEl('text', {
        x: px(tick),
        y: Math.min(PLOT.top + PLOT.height + 14, py(0) + 14),
        'text-anchor': 'middle',
        'font-size': 10,
        fill: '#666',
      });
      label.textContent = String(tick);
      children.push(label);
    }
    for (const tick of [low + pad, high - pad]) {
      const label = svgEl('text', {
        x: PLOT.left - 4,
        y: py(tick) + 4,
        'text-anchor': 'end',
        'font-size': 10,
        fill: '#666',
      });
      label.textContent = fmt(tick, 2);
      children.push(label);
    }
    for (const fn of functions) {
      const points = fn[key].map((v, i) => `${px(x[i]).toFixed(2)},${py(v).toFixed(2)}`).join(' ');
      children.push(svgEl('polyline', { class: 'curve', points, stroke: fn.colour, 'data-function': fn.name }));
      const [cx, cy] = [px(x[index]), py(fn[key][index])];
      children.push(svgEl('circle', { cx, cy, r: 4, fill: fn.colour, 'data-function': fn.name }));
      if (tangent) {
        const slope = fn.derivatives[index];
        const [x0, x1] = [x[index] - 1, x[index] + 1];
        children.push(
          svgEl('line', {
            class: 'tangent',
            stroke: fn.colour,
            'data-function': fn.name,
            x1: px(x0),
            y1: py(fn.values[index] - slope),
            x2: px(x1),
            y2: py(fn.values[index] + slope),
          }),
        );
      }
    }
    const marker = svgEl('line', {
      class: 'axis',
      'stroke-dasharray': '2 2',
      x1: px(x[index]),
      x2: px(x[index]),
      y1: PLOT.top,
      y2: PLOT.top + PLOT.height,
    });
    children.push(marker);
    svg.replaceChildren(...children);
  }

  // ---- start -----------------------------------------------------------------------------------

  function start() {
    for (const tab of document.querySelectorAll('nav .tab'))
      tab.addEventListener('click', () => showView(tab.dataset.view));
    const tooltip = el('div', { id: 'tooltip', hidden: true });
    document.body.append(tooltip);
    setupDrawing();
    setupUpload();
    setupDetail();
    setupSignals();
    loadModel().catch(err => showError(err.message));
  }

  start();
})();
