// LANrage web UI: talks to the daemon's local API (docs/API.md, docs/WEBUI.md).
// Vanilla JS, no build step. Every piece of text that comes from the daemon or
// from other players (names, party names, game info, messages) is inserted as
// text (textContent, append(string)), never parsed as HTML.
'use strict';

(() => {
	const POLL_MS = 1000; // status poll
	const RETRY_MS = 2000; // while the daemon does not answer
	const LOGGED_OUT_MS = 5000; // a login in another tab shows up here too
	const GAMES_MS = 3000; // games poll, while that screen is shown
	const HISTORY_MS = 5 * 60 * 1000; // latency kept for the charts
	const RTT_GOOD_MS = 50; // below: green
	const RTT_FAIR_MS = 120; // below: amber; from here on: red
	const SCREENS = ['party', 'node', 'games', 'settings'];

	const $ = (id) => document.getElementById(id);

	const ui = {
		csrf: null,
		daemonUp: null, // null until the first answer or failure
		loggedIn: null,
		status: null,
		busy: null, // {text, since} while create/join/leave waits
		history: new Map(), // peer_id -> [{t, rtt}]
		settingsLoaded: false,
		gamesTimer: null,
	};

	// ---- DOM helpers: text only -------------------------------------------------

	function el(tag, props, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(props || {})) {
			if (v === undefined || v === null || v === false) continue;
			if (k === 'class') e.className = v;
			else if (k === 'text') e.textContent = String(v);
			else e.setAttribute(k, v === true ? '' : String(v));
		}
		for (const kid of kids) {
			if (kid !== undefined && kid !== null) e.append(kid); // strings become text nodes
		}
		return e;
	}

	const SVG_NS = 'http://www.w3.org/2000/svg';
	function svg(tag, attrs) {
		const e = document.createElementNS(SVG_NS, tag);
		for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
		return e;
	}

	function show(id, on) {
		$(id).hidden = !on;
	}

	function setText(id, text) {
		$(id).textContent = text === undefined || text === null ? '' : String(text);
	}

	function kv(dl, rows) {
		dl.replaceChildren();
		for (const [k, v, cls] of rows) {
			dl.append(el('dt', { text: k }));
			const dd = el('dd', { class: cls });
			if (Array.isArray(v)) {
				if (v.length === 0) dd.append('none');
				else dd.append(el('ul', { class: 'plain' }, ...v.map((x) => el('li', { class: 'mono', text: x }))));
			} else {
				dd.textContent = v === undefined || v === null || v === '' ? '—' : String(v);
			}
			dl.append(dd);
		}
	}

	// ---- the API -----------------------------------------------------------------

	class ApiError extends Error {
		constructor(status, code, message) {
			super(message);
			this.status = status;
			this.code = code;
		}
	}

	async function request(method, path, body) {
		const opts = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' };
		if (method !== 'GET' && ui.csrf) opts.headers['X-LANrage-CSRF'] = ui.csrf;
		if (body !== undefined) {
			opts.headers['Content-Type'] = 'application/json';
			opts.body = JSON.stringify(body);
		}
		let res;
		try {
			res = await fetch(path, opts);
		} catch (e) {
			setDaemonUp(false);
			throw new ApiError(0, 'unreachable', 'The daemon is not running (nothing answers at ' + location.host + ').');
		}
		setDaemonUp(true);
		let data = null;
		try {
			data = await res.json();
		} catch (e) {
			data = null;
		}
		if (!res.ok) {
			const code = data && data.error ? data.error : 'http_' + res.status;
			const msg = data && data.message ? data.message : 'The daemon answered ' + res.status + '.';
			throw new ApiError(res.status, code, msg);
		}
		return data;
	}

	// api: request, plus what every caller wants: a lost session shows the
	// login screen; a stale CSRF token (the daemon restarted, or the session
	// was renewed) is fetched again and the request tried once more.
	async function api(method, path, body) {
		try {
			return await request(method, path, body);
		} catch (e) {
			if (e.status === 401) setLoggedIn(false, e.message);
			if (e.status === 403 && e.code === 'csrf' && (await loadSession())) return request(method, path, body);
			throw e;
		}
	}

	async function loadSession() {
		try {
			const s = await request('GET', '/v1/ui/session');
			ui.csrf = s.csrf;
			setLoggedIn(true);
			return true;
		} catch (e) {
			if (e.status === 401) setLoggedIn(false, e.message);
			return false;
		}
	}

	// ---- global states: daemon up, logged in, control reachable -----------------

	function setDaemonUp(up) {
		if (ui.daemonUp === up) return;
		ui.daemonUp = up;
		show('banner-daemon', !up);
		$('conn-dot').className = 'dot ' + (up ? 'dot-ok' : 'dot-bad');
		setText('conn-text', up ? 'Daemon at ' + location.host : 'Daemon not running');
		if (!up) {
			ui.csrf = null;
			ui.loggedIn = null; // a restarted daemon has forgotten our session
			show('banner-control', false);
		}
		document.body.classList.toggle('offline', !up);
		$('main').inert = !up; // the last known state stays visible, dimmed, not usable
	}

	function setLoggedIn(on, why) {
		const changed = ui.loggedIn !== on;
		ui.loggedIn = on;
		show('logout-btn', on);
		if (!on) {
			ui.csrf = null;
			setText('login-detail', why ? 'The daemon said: ' + why : '');
		}
		if (changed) route();
	}

	// ---- screens -------------------------------------------------------------------

	function currentScreen() {
		const h = location.hash.replace('#', '');
		return SCREENS.includes(h) ? h : 'party';
	}

	function route() {
		const name = currentScreen();
		const login = ui.loggedIn === false;
		show('screen-login', login);
		for (const s of SCREENS) {
			show('screen-' + s, !login && ui.loggedIn === true && s === name);
			const tab = $('tab-' + s);
			if (s === name) tab.setAttribute('aria-current', 'page');
			else tab.removeAttribute('aria-current');
		}
		document.body.classList.toggle('logged-out', login);
		if (login || ui.loggedIn !== true) return;
		if (name === 'settings' && !ui.settingsLoaded) loadSettings();
		if (name === 'games') startGames();
		else stopGames();
		if (name === 'node') renderNode();
	}

	// ---- the status poll -------------------------------------------------------------

	async function tick() {
		let next = POLL_MS;
		try {
			if (ui.loggedIn !== true) await loadSession();
			if (ui.loggedIn === true) {
				const st = await api('GET', '/v1/status');
				ui.status = st;
				record(st);
				render();
			}
		} catch (e) {
			// shown by the states above (daemon down, logged out); nothing else to do
		}
		if (ui.daemonUp === false) next = RETRY_MS;
		else if (ui.loggedIn === false) next = LOGGED_OUT_MS;
		setTimeout(tick, next);
	}

	function record(st) {
		const now = Date.now();
		const seen = new Set();
		for (const m of st.members || []) {
			seen.add(m.peer_id);
			let h = ui.history.get(m.peer_id);
			if (!h) ui.history.set(m.peer_id, (h = []));
			h.push({ t: now, rtt: typeof m.rtt_ms === 'number' ? m.rtt_ms : null });
			while (h.length && h[0].t < now - HISTORY_MS) h.shift();
		}
		for (const id of [...ui.history.keys()]) if (!seen.has(id)) ui.history.delete(id);
	}

	function render() {
		const st = ui.status;
		if (!st) return;
		const c = st.control || {};
		const down = c.connected === false;
		show('banner-control', down);
		if (down) {
			setText('banner-control-text',
				(c.url ? c.url + ': ' : '') + (c.error || 'not connected') +
				'. Parties cannot be created or joined until it answers; members already connected stay connected.');
		}
		renderParty(st);
		if (currentScreen() === 'node') renderNode();
	}

	// ---- party -------------------------------------------------------------------------

	function renderParty(st) {
		const state = st.state || 'idle';
		const busy = ui.busy || (state === 'joining' ? { text: 'Joining the party…' } : null) ||
			(state === 'leaving' ? { text: 'Leaving the party…' } : null);
		show('party-busy', !!busy);
		if (busy) setText('party-busy-text', busy.text);
		show('party-idle', !busy && state === 'idle');
		show('party-active', !busy && state === 'active');
		if (state !== 'active') {
			// nothing of a party left behind, even hidden
			$('members').replaceChildren();
			$('share-code').value = '';
			return;
		}
		setText('party-name', st.party_name || 'Party');
		setText('party-state', state);
		const self = st.self || {};
		setText('party-self', self.name || self.peer_id || '');
		setText('party-self-ip', self.virtual_ip || '');
		const code = $('share-code');
		if (code.value !== st.party_id) code.value = st.party_id || '';
		renderMembers(st.members || []);
	}

	function fmtMs(v) {
		if (typeof v !== 'number') return '—';
		return (v < 10 ? v.toFixed(1) : Math.round(v)) + ' ms';
	}

	function rttClass(v) {
		if (typeof v !== 'number') return 'rtt rtt-none';
		if (v < RTT_GOOD_MS) return 'rtt rtt-good';
		if (v < RTT_FAIR_MS) return 'rtt rtt-fair';
		return 'rtt rtt-poor';
	}

	function pathText(m) {
		switch (m.path) {
		case 'direct':
			return 'direct' + (m.endpoint ? ' (' + m.endpoint + ')' : '');
		case 'relay':
			return 'relay ' + (m.relay_id || '') + (m.endpoint ? ' (' + m.endpoint + ')' : '');
		default:
			return m.path || 'unknown';
		}
	}

	function fmtSince(ms) {
		if (typeof ms !== 'number') return '';
		const s = Math.floor(ms / 1000);
		if (s < 60) return s + ' s';
		if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
		return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
	}

	function renderMembers(members) {
		const list = $('members');
		list.replaceChildren();
		setText('members-count', '(' + members.length + ')');
		show('members-empty', members.length === 0);
		for (const m of members) {
			const nat = m.nat && m.nat.type ? m.nat.type : 'unknown';
			const li = el('li', { class: 'member card', 'data-peer-id': m.peer_id });
			li.append(el('div', { class: 'm-head' },
				el('span', { class: 'm-name', text: m.name || m.peer_id }),
				el('span', { class: 'badge path path-' + (m.path || 'unknown'), text: m.path || 'unknown' })));
			const dl = el('dl', { class: 'm-kv' });
			const add = (k, v, cls) => dl.append(el('dt', { text: k }), el('dd', { class: cls, text: v }));
			add('Virtual IP', m.virtual_ip || '—', 'mono m-ip');
			add('Path', pathText(m) + (m.since_ms !== undefined ? ' · for ' + fmtSince(m.since_ms) : ''), 'm-path');
			add('RTT', fmtMs(m.rtt_ms), rttClass(m.rtt_ms) + ' m-rtt');
			add('Jitter', fmtMs(m.jitter_ms), 'm-jitter');
			add('Loss', typeof m.loss_pct === 'number' ? m.loss_pct.toFixed(1) + ' %' : '—', 'm-loss');
			add('NAT', nat, 'm-nat');
			if (m.mtu) add('MTU', String(m.mtu), 'm-mtu');
			li.append(dl);
			if (m.detail) li.append(el('p', { class: 'small muted m-detail', text: m.detail }));
			li.append(chart(m, ui.history.get(m.peer_id) || []));
			list.append(li);
		}
	}

	// A line of the member's RTT over the time the page has watched it (at
	// least 30 s, at most HISTORY_MS), with the colour thresholds as dashed
	// lines when they are in range. Gaps where nothing was measured stay gaps.
	function chart(m, h) {
		const W = 300, H = 70, PAD = 2, LABEL = 16; // the label's band stays clear of the line
		const vals = h.filter((p) => p.rtt !== null).map((p) => p.rtt);
		const top = Math.max(2, ...vals);
		const max = top * 1.25;
		const now = Date.now();
		const span = Math.min(HISTORY_MS, Math.max(30_000, h.length ? now - h[0].t : 0));
		const x = (t) => PAD + (W - 2 * PAD) * (1 - (now - t) / span);
		const y = (v) => H - PAD - (H - PAD - LABEL) * (v / max);
		const who = m.name || m.peer_id;
		const secs = Math.round(span / 1000);
		const spanText = secs >= 120 ? Math.round(secs / 60) + ' minutes' : secs + ' s';
		const label = vals.length
			? 'RTT to ' + who + ' over the last ' + spanText + ': ' + vals.length + ' samples, lowest ' +
				fmtMs(Math.min(...vals)) + ', highest ' + fmtMs(Math.max(...vals))
			: 'RTT to ' + who + ': not measured yet';
		const s = svg('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': label,
			preserveAspectRatio: 'none' });
		const title = svg('title');
		title.textContent = label;
		s.append(title);
		s.append(svg('rect', { class: 'chart-bg', x: 0, y: 0, width: W, height: H }));
		for (const [v, cls] of [[RTT_GOOD_MS, 'chart-good'], [RTT_FAIR_MS, 'chart-fair']]) {
			if (v < max) s.append(svg('line', { class: 'chart-limit ' + cls, x1: 0, x2: W, y1: y(v), y2: y(v) }));
		}
		let d = '';
		let pen = false;
		for (const p of h) {
			if (p.rtt === null) {
				pen = false;
				continue;
			}
			d += (pen ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.rtt).toFixed(1) + ' ';
			pen = true;
		}
		if (d) s.append(svg('path', { class: 'chart-line', d: d.trim() }));
		const last = [...h].reverse().find((p) => p.rtt !== null);
		if (last) s.append(svg('circle', { class: 'chart-dot', cx: x(last.t), cy: y(last.rtt), r: 2.5 }));
		const txt = svg('text', { class: 'chart-label', x: W - 4, y: 12, 'text-anchor': 'end' });
		txt.textContent = 'last ' + spanText + (vals.length ? ' · top ' + fmtMs(top) : '');
		s.append(txt);
		return s;
	}

	function startBusy(text) {
		ui.busy = { text, since: Date.now() };
		const upd = () => {
			if (!ui.busy) return;
			setText('party-busy-secs', ((Date.now() - ui.busy.since) / 1000).toFixed(0) + ' s');
		};
		upd();
		ui.busy.timer = setInterval(upd, 250);
		renderParty(ui.status || { state: 'idle' });
	}

	function endBusy() {
		if (ui.busy) clearInterval(ui.busy.timer);
		ui.busy = null;
		setText('party-busy-secs', '');
	}

	async function partyOp(text, method, path, body, errId) {
		setText(errId, '');
		startBusy(text);
		let ok = false;
		try {
			const st = await api(method, path, body);
			if (st && st.state && st.self) ui.status = st;
			else if (st && st.state && ui.status) ui.status = Object.assign({}, ui.status, { state: st.state, members: [] });
			ok = true;
		} catch (e) {
			setText(errId, e.message);
		}
		endBusy();
		if (ui.status) renderParty(ui.status);
		return ok;
	}

	// The trimmed value of a form field, or null (and the message shown,
	// the field focused) when it is empty.
	function required(inputId, errId, message) {
		const v = $(inputId).value.trim();
		if (v) return v;
		setText(errId, message);
		$(inputId).focus();
		return null;
	}

	async function onCreate(ev) {
		ev.preventDefault();
		const name = required('create-name', 'create-err', 'Give the party a name (1 to 64 characters).');
		if (name) await partyOp('Creating the party…', 'POST', '/v1/party/create', { name }, 'create-err');
	}

	async function onJoin(ev) {
		ev.preventDefault();
		const code = required('join-code', 'join-err', 'Enter the share code your friend sent you (like ABCD-EFGH-JKMN).');
		if (code && (await partyOp('Joining the party…', 'POST', '/v1/party/join', { party_id: code }, 'join-err'))) {
			$('join-code').value = '';
		}
	}

	async function onLeave() {
		await partyOp('Leaving the party…', 'POST', '/v1/party/leave', {}, 'leave-err');
		ui.history.clear();
	}

	async function onCopy() {
		const input = $('share-code');
		const code = input.value;
		try {
			await navigator.clipboard.writeText(code);
			setText('copy-msg', 'Copied ' + code + ' to the clipboard.');
			return;
		} catch (e) {
			// no clipboard permission (or an old browser): select it instead
		}
		input.focus();
		input.select();
		let ok = false;
		try {
			ok = document.execCommand('copy');
		} catch (e) {
			ok = false;
		}
		setText('copy-msg', ok ? 'Copied ' + code + ' to the clipboard.' : 'Selected: press Ctrl+C to copy it.');
	}

	async function onPaste() {
		const input = $('join-code');
		try {
			const text = await navigator.clipboard.readText();
			input.value = text.trim();
			setText('join-err', '');
			input.focus();
			return;
		} catch (e) {
			// the browser did not let us read the clipboard
		}
		input.focus();
		setText('join-err', 'This browser does not let the page read the clipboard: press Ctrl+V in the field.');
	}

	// ---- this node -------------------------------------------------------------------

	function renderNode() {
		const st = ui.status;
		if (!st) return;
		const self = st.self || {};
		const nat = self.nat || {};
		const c = st.control || {};
		kv($('node-identity'), [
			['Name', self.name],
			['Peer ID', self.peer_id, 'mono'],
			['Virtual IP', self.virtual_ip || 'none (not in a party)', 'mono'],
			['Party', st.party_name ? st.party_name + ' (' + st.party_id + ')' : 'none'],
			['Public key', self.public_key, 'mono wrap'],
		]);
		kv($('node-control'), [
			['Mode', c.mode === 'local' ? 'local (embedded, no server)' : c.mode],
			['Server', c.url, 'mono wrap'],
			['Connection', c.connected === false ? 'not connected' : 'connected', c.connected === false ? 'bad' : 'good'],
			['Error', c.error],
		]);
		kv($('node-nat'), [
			['NAT type', !nat.type || nat.type === 'unknown' ? 'unknown until a party starts (or run the check below)' : nat.type],
			['Mapping', nat.mapping],
			['Filtering', nat.filtering],
			['UDP blocked', self.udp_blocked === undefined ? '' : self.udp_blocked ? 'yes' : 'no'],
			['Endpoints', self.endpoints || []],
			['Home relay', self.home_relay, 'mono'],
		]);
	}

	async function onNetcheck() {
		const btn = $('netcheck-btn');
		btn.disabled = true;
		setText('netcheck-err', '');
		show('netcheck-progress', true);
		const since = Date.now();
		const upd = () => setText('netcheck-secs', ((Date.now() - since) / 1000).toFixed(1) + ' s');
		upd();
		const timer = setInterval(upd, 100);
		try {
			const rep = await api('GET', '/v1/netcheck');
			renderNetcheck(rep, Date.now() - since);
		} catch (e) {
			setText('netcheck-err', e.message);
		}
		clearInterval(timer);
		show('netcheck-progress', false);
		btn.disabled = false;
	}

	function renderNetcheck(r, tookMs) {
		kv($('netcheck-kv'), [
			['NAT type', r.nat_type, 'nc-type'],
			['Mapping', r.mapping],
			['Filtering', r.filtering],
			['UDP blocked', r.udp_blocked ? 'yes' : 'no'],
			['Public endpoints', r.public_endpoints || []],
			['Local endpoints', r.local_endpoints || []],
			['Home relay', r.home_relay],
			['Source', r.source === 'daemon' ? 'the party\'s own check' : r.source === 'daemon-idle' ? 'a check just now' : r.source],
			['Took', ((typeof r.duration_ms === 'number' ? r.duration_ms : tookMs) / 1000).toFixed(1) + ' s'],
			['Notes', (r.notes || []).map(String)],
		]);
		const servers = Array.isArray(r.servers) ? r.servers : [];
		const table = $('netcheck-servers');
		const body = table.tBodies[0];
		body.replaceChildren();
		for (const s of servers) {
			body.append(el('tr', null,
				el('td', { class: 'mono', text: s.name + (s.address && s.address !== s.name ? ' (' + s.address + ')' : '') }),
				el('td', { text: s.mapped ? 'sees ' + s.mapped : s.error || 'no answer' }),
				el('td', { text: fmtMs(s.rtt_ms) })));
		}
		table.hidden = servers.length === 0;
		show('netcheck-report', true);
	}

	// ---- games -------------------------------------------------------------------------

	async function loadGames() {
		try {
			const g = await api('GET', '/v1/games');
			const games = g.games || [];
			const body = $('games-body');
			body.replaceChildren();
			for (const x of games) {
				body.append(el('tr', null,
					el('td', { text: x.game }),
					el('td', { text: x.member || x.peer_id }),
					el('td', { class: 'mono', text: (x.virtual_ip || '') + (x.port ? ':' + x.port : '') }),
					el('td', { class: 'wrap', text: x.info || '' }),
					el('td', { text: typeof x.last_seen_s === 'number' ? x.last_seen_s + ' s ago' : '' })));
			}
			show('games-table', games.length > 0);
			show('games-empty', games.length === 0);
			setText('games-err', '');
		} catch (e) {
			setText('games-err', e.message);
		}
	}

	function startGames() {
		if (ui.gamesTimer) return;
		loadGames();
		ui.gamesTimer = setInterval(loadGames, GAMES_MS);
	}

	function stopGames() {
		clearInterval(ui.gamesTimer);
		ui.gamesTimer = null;
	}

	// ---- settings ----------------------------------------------------------------------

	async function loadSettings() {
		setText('settings-err', '');
		let all;
		try {
			all = await api('GET', '/v1/settings');
		} catch (e) {
			setText('settings-err', e.message);
			return;
		}
		ui.settingsLoaded = true;
		const list = $('settings-list');
		list.replaceChildren();
		for (const key of Object.keys(all).sort()) list.append(settingRow(key, all[key]));
	}

	function choices(s) {
		if (s.type === 'bool') return ['true', 'false'];
		if (s.type === 'enum' && s.allowed) return s.allowed.split('|');
		return null;
	}

	function settingRow(key, s) {
		const id = 'set-' + key;
		const form = el('form', { class: 'setting card', id, 'data-key': key, novalidate: true });
		const opts = choices(s);
		let input;
		if (opts) {
			input = el('select', { id: id + '-in', name: key });
			for (const o of opts) input.append(el('option', { value: o, text: o }));
		} else {
			input = el('input', { id: id + '-in', name: key, autocomplete: 'off', spellcheck: 'false',
				inputmode: s.type === 'int' ? 'numeric' : null });
		}
		input.value = s.value;
		input.setAttribute('aria-describedby', id + '-msg ' + id + '-help');
		const msg = el('p', { class: 'msg', id: id + '-msg', role: 'status' });
		const save = el('button', { type: 'submit', class: 'primary', text: 'Save' });
		const reset = el('button', { type: 'button', text: 'Reset to default' });
		form.append(
			el('div', { class: 's-head' },
				el('label', { for: id + '-in', class: 's-key mono', text: key }),
				el('span', { class: 'badge', text: s.type }),
				el('span', { class: 'badge applies-' + (s.applies === 'now' ? 'now' : 'later'),
					text: s.applies === 'now' ? 'applies now' : 'applies at next start' })),
			el('p', { class: 's-desc', text: s.description || '' }),
			el('div', { class: 'row' }, input, save, reset),
			el('p', { class: 'small muted', id: id + '-help' },
				'Allowed: ' + (s.allowed || s.type) + ' · Default: ' + (s.default === '' ? '(empty)' : s.default)),
			msg);
		const done = (r, ok) => {
			msg.className = 'msg ' + (ok ? 'ok' : 'err');
			input.setAttribute('aria-invalid', ok ? 'false' : 'true');
			msg.textContent = r;
		};
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			save.disabled = true;
			try {
				const r = await api('POST', '/v1/settings', { key, value: input.value });
				input.value = r.value;
				done('Saved: ' + r.note + '.', true);
			} catch (e) {
				done(e.message, false);
				input.focus();
			}
			save.disabled = false;
		});
		reset.addEventListener('click', async () => {
			reset.disabled = true;
			try {
				const r = await api('DELETE', '/v1/settings/' + encodeURIComponent(key));
				input.value = r.value;
				done('Back to the default: ' + r.note + '.', true);
			} catch (e) {
				done(e.message, false);
			}
			reset.disabled = false;
		});
		return form;
	}

	// ---- start -------------------------------------------------------------------------

	async function onLogout() {
		try {
			await api('POST', '/v1/ui/logout');
		} catch (e) {
			// logged out either way below
		}
		setLoggedIn(false, '');
	}

	function init() {
		$('form-create').addEventListener('submit', onCreate);
		$('form-join').addEventListener('submit', onJoin);
		$('leave-btn').addEventListener('click', onLeave);
		$('copy-btn').addEventListener('click', onCopy);
		$('paste-btn').addEventListener('click', onPaste);
		$('netcheck-btn').addEventListener('click', onNetcheck);
		$('logout-btn').addEventListener('click', onLogout);
		window.addEventListener('hashchange', route);
		route();
		tick();
	}

	if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
	else init();
})();
