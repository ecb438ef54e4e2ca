// /docs: renders /openapi.json (the description the server answers with) as a page, with a curl
// line per endpoint. Self-contained: no library, nothing fetched but /openapi.json.
'use strict';

const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
};

// Text with `code` spans (the description's only markup) as nodes, never as HTML.
function prose(text) {
  const frag = document.createDocumentFragment();
  String(text || '').split('`').forEach((part, i) => frag.append(i % 2 ? el('code', { textContent: part }) : part));
  return frag;
}

function resolve(spec, obj) {
  let o = obj;
  for (let i = 0; o && o.$ref && i < 8; i++) {
    o = o.$ref.replace(/^#\//, '').split('/').reduce((a, k) => a && a[k], spec);
  }
  return o || {};
}

function curlFor(path, method, op) {
  const url = location.origin + path.replace('{file}', 'app.js');
  if (method === 'post') {
    const q = (op.parameters || []).some((p) => p.$ref && p.$ref.endsWith('/segments')) ? '?segments=1' : '';
    const out = path === '/v1/explain' ? ' -o figure.png' : '';
    return `curl -s -F audio=@speech.wav '${url}${q}'${out}`;
  }
  return `curl -s '${url}'`;
}

function schemaText(spec, schema) {
  if (!schema) return '';
  if (schema.$ref) return schema.$ref.split('/').pop();
  return JSON.stringify(schema, null, 1).replace(/\n\s*/g, ' ');
}

function renderOperation(spec, path, method, op) {
  const id = op.operationId || `${method}-${path}`;
  const section = el('section', { className: 'endpoint', id });
  section.setAttribute('aria-labelledby', id + '-h');
  const h = el('h3', { id: id + '-h' }, el('span', { className: 'method ' + method, textContent: method.toUpperCase() }),
               el('code', { textContent: path }), el('span', { textContent: op.summary || '' }));
  section.append(h);
  if (op.description) section.append(el('p', {}, prose(op.description)));
  const params = (op.parameters || []).map((p) => resolve(spec, p));
  if (params.length) {
    section.append(el('h4', { textContent: 'Parameters' }));
    const ul = el('ul');
    for (const p of params) {
      ul.append(el('li', {}, el('code', { textContent: p.name }), ` (${p.in}${p.required ? ', required' : ''}): `, prose(p.description)));
    }
    section.append(ul);
  }
  if (op.requestBody) {
    const body = resolve(spec, op.requestBody);
    section.append(el('h4', { textContent: 'Request body' }),
                   el('p', {}, prose((body.description || '') + '. Content types: ' + Object.keys(body.content || {}).map((t) => '`' + t + '`').join(', ') + '.')));
  }
  section.append(el('h4', { textContent: 'Responses' }));
  const table = el('table');
  table.append(el('thead', {}, el('tr', {}, el('th', { scope: 'col', textContent: 'status' }),
                                  el('th', { scope: 'col', textContent: 'meaning' }),
                                  el('th', { scope: 'col', textContent: 'body' }))));
  const tbody = el('tbody');
  for (const [status, r0] of Object.entries(op.responses || {})) {
    const r = resolve(spec, r0);
    const bodies = Object.entries(r.content || {}).map(([type, c]) => `${type}: ${schemaText(spec, c.schema)}`);
    tbody.append(el('tr', {}, el('td', { textContent: status }), el('td', {}, prose(r.description)),
                    el('td', {}, el('code', { textContent: bodies.join('; ') }))));
  }
  table.append(tbody);
  section.append(el('div', { className: 'table-wrap' }, table));
  section.append(el('h4', { textContent: 'Example' }), el('pre', {}, el('code', { textContent: curlFor(path, method, op) })));
  return section;
}

async function main() {
  const status = document.getElementById('docs-status');
  let spec;
  try {
    spec = await (await fetch('/openapi.json')).json();
  } catch (err) {
    status.textContent = 'Could not read /openapi.json: ' + err.message;
    return;
  }
  document.getElementById('summary').replaceChildren(prose(`${spec.info.title} ${spec.info.version}` +
    (spec.info['x-model'] ? ` (model ${spec.info['x-model']})` : '') + ': ' + spec.info.description));
  const toc = document.getElementById('toc');
  const endpoints = document.getElementById('endpoints');
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const section = renderOperation(spec, path, method, op);
      endpoints.append(section);
      toc.append(el('li', {}, el('a', { href: '#' + section.id, textContent: `${method.toUpperCase()} ${path}` }),
                    ` ${op.summary || ''}`));
    }
  }
  const schemas = document.getElementById('schemas');
  for (const [name, schema] of Object.entries(spec.components.schemas)) {
    schemas.append(el('h3', { id: 'schema-' + name, textContent: name }),
                   el('pre', {}, el('code', { textContent: JSON.stringify(schema, null, 2) })));
  }
  status.textContent = `${Object.keys(spec.paths).length} paths, OpenAPI ${spec.openapi}.`;
}

main();
