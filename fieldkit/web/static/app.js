// Progressive enhancement: pages read without this script; it adds signing and live updates.
const $ = (s, el = document) => el.querySelector(s);
const csrf = $('meta[name=csrf]').content;
const es = document.body.dataset.lang === 'es';
const T = es
  ? { signing: 'Firmando en este teléfono…', done: 'Hecho', noKey: 'Este teléfono aún no tiene clave: únete primero.',
      alert: 'Nueva alerta', you: 'Tú', yes: 'Sí', no: 'Cancelar' }
  : { signing: 'Signing on this phone…', done: 'Done', noKey: 'This phone has no key yet: join first.',
      alert: 'New alert', you: 'You', yes: 'Yes', no: 'Cancel' };

const myKey = () => {
  const seed = localStorage.getItem('fk_seed'), pub = localStorage.getItem('fk_pub');
  return seed && pub ? { seed, pub } : null;
};
const say = (msg, err = false) => { const s = $('#status'); s.textContent = msg; s.className = err ? 'status err' : 'status'; };

async function post(url, data) {
  const r = await fetch(url, { method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(data) });
  const j = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

// prepare (the node builds the entry and says if it would count) -> sign the id here -> submit
async function act(action, args) {
  const k = myKey();
  if (!k) throw new Error(T.noKey);
  const prep = await post('/api/prepare', { action, args, public_key: k.pub });
  const { signHex } = await import('./sign.js');
  return post('/api/submit', { token: prep.token, signature: signHex(prep.id, k.seed) });
}

function confirmStep(form) {
  return new Promise((resolve) => {
    const box = document.createElement('div');
    box.className = 'confirm'; box.setAttribute('role', 'alertdialog');
    const p = document.createElement('p'); p.textContent = form.dataset.confirm;
    const yes = document.createElement('button'); yes.type = 'button'; yes.textContent = form.dataset.confirmYes || T.yes;
    const no = document.createElement('button'); no.type = 'button'; no.className = 'secondary';
    no.textContent = form.dataset.confirmNo || T.no;
    box.append(p, yes, no); form.append(box); yes.focus();
    const done = (v) => { box.remove(); resolve(v); };
    yes.onclick = () => done(true); no.onclick = () => done(false);
  });
}

function bind(root) {
  for (const form of root.querySelectorAll('form[data-action]')) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const args = Object.fromEntries(new FormData(form));
      if (ev.submitter && ev.submitter.name) args[ev.submitter.name] = ev.submitter.value;
      if (form.dataset.confirm && !(await confirmStep(form))) return;
      say(T.signing);
      try {
        const r = await act(form.dataset.action, args);
        if (form.dataset.action !== 'join') await refresh();
        document.dispatchEvent(new CustomEvent('fk:done', { detail: r }));
        say(`${T.done}: ${r.kind} ${r.id.slice(0, 12)}`);
      } catch (e) { say(e.message, true); }
    });
  }
}

let refreshing = null;
async function refresh() {
  const r = await fetch(location.href, { credentials: 'same-origin' });
  if (!r.ok) return;
  const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
  const fresh = doc.getElementById('main'), main = $('#main');
  if (fresh && main) { main.innerHTML = fresh.innerHTML; bind(main); showMe(); }
}
const soon = () => { clearTimeout(refreshing); refreshing = setTimeout(refresh, 300); };

function beep() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const o = ctx.createOscillator(); o.frequency.value = 880; o.connect(ctx.destination);
    o.start(); o.stop(ctx.currentTime + 0.4);
  } catch (e) { /* no sound allowed yet: the banner and vibration remain */ }
}

function live() {
  if (!window.EventSource) return;
  const src = new EventSource('/events');
  src.addEventListener('alert', (ev) => {
    const a = JSON.parse(ev.data);
    const b = $('#live-alert'); b.hidden = false; b.textContent = '';
    const link = document.createElement('a'); link.href = `/alerts/${a.id}`; link.textContent = `${T.alert}: ${a.text}`;
    b.append(link);
    if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
    beep();
    document.dispatchEvent(new CustomEvent('fk:alert', { detail: a }));
    if ($('#main[data-live]')) soon();
  });
  for (const name of ['ack', 'ballot', 'change']) src.addEventListener(name, () => { if ($('#main[data-live]')) soon(); });
}

async function showMe() {
  const k = myKey(), me = $('#me');
  if (!k || !me) return;
  try {
    const r = await fetch(`/api/whois/${k.pub}`, { credentials: 'same-origin' });
    const w = await r.json();
    me.textContent = `${T.you}: ${w.name || ''} ${w.key_id.slice(0, 4)}-${w.key_id.slice(4, 8)}`;
    me.hidden = false;
    for (const li of document.querySelectorAll(`[data-voter="${w.key_id}"]`)) li.classList.add('mine');
    return w;
  } catch (e) { return null; }
}

async function joinPage() {
  const card = $('#keycard');
  if (!card) return;
  const show = async () => {
    const k = myKey();
    $('#nokey').hidden = !!k; card.hidden = !k;
    if (!k) return;
    const w = await showMe();
    if (w) $('#shortcode').textContent = `${w.key_id.slice(0, 4)}-${w.key_id.slice(4, 8)}`;
    $('#pubkey').textContent = k.pub;
    $('#qr').src = `/qr/${k.pub}.svg`;
    const { toWords } = await import('./words.js');
    $('#words').textContent = toWords(k.seed);
  };
  const keep = (seed, pub) => { localStorage.setItem('fk_seed', seed); localStorage.setItem('fk_pub', pub); };
  $('#newkey').onclick = async () => { const { newKey } = await import('./sign.js'); const k = newKey(); keep(k.seed, k.pub); show(); };
  $('#restore').onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const { fromWords } = await import('./words.js'); const { publicKeyOf } = await import('./sign.js');
      const seed = fromWords(new FormData(ev.target).get('words')); keep(seed, publicKeyOf(seed)); show();
    } catch (e) { say(e.message, true); }
  };
  $('#forget').onclick = () => { localStorage.removeItem('fk_seed'); localStorage.removeItem('fk_pub'); show(); };
  document.addEventListener('fk:done', show);
  show();
}

bind(document);
live();
showMe();
joinPage();
