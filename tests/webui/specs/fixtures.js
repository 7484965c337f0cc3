// Shared pieces of the web UI tests: the lab run.sh built, browsers inside
// the players' network namespaces, logged-in pages, console error checks.
//
// WEBUI_LAB names a JSON file:
//   {"players": {"a": {"base": "http://127.0.0.1:8666", "chromium": "/tmp/.../chromium-a",
//                       "login": ["ip", "netns", "exec", NS, "lanrage", "ui", "--no-open", ...],
//                       "cli": ["ip", "netns", "exec", NS, "lanrage"], "state_dir": DIR,
//                       "name": "a"}, ...},
//    "xss_name": "<img src=x onerror=window.__xss=1>", "evil": "http://127.0.0.1:8700/"}
// Each player's "chromium" is a wrapper running Debian's chromium in that
// player's namespace, where the player's daemon answers on 127.0.0.1:8666.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const base = require('@playwright/test');

const { chromium, expect } = base;
const lab = JSON.parse(fs.readFileSync(process.env.WEBUI_LAB || path.join(__dirname, '..', 'out', 'lab.json'), 'utf8'));
const OUT = process.env.WEBUI_OUT || path.join(__dirname, '..', 'out');
const SHOTS = path.join(OUT, 'screens');
fs.mkdirSync(SHOTS, { recursive: true });

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 780 };

// What this machine needs to run chromium as root in a namespace with no
// internet; Playwright adds --headless and a fresh --user-data-dir itself.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

function player(name) {
	const p = lab.players[name];
	if (!p) throw new Error('no player ' + name + ' in the lab');
	return p;
}

// A one-time login URL from `lanrage ui --no-open` in the player's namespace.
function loginUrl(name) {
	const [cmd, ...args] = player(name).login;
	const out = execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
	const m = out.match(/http:\/\/[^\s]+\/login\?code=[0-9a-f]{64}/);
	if (!m) throw new Error('`lanrage ui --no-open` printed no login URL: ' + out);
	return m[0];
}

// The CLI against the player's daemon; returns stdout.
function cli(name, ...args) {
	const p = player(name);
	const [cmd, ...pre] = p.cli;
	return execFileSync(cmd, [...pre, ...args, '--state-dir', p.state_dir], { encoding: 'utf8', timeout: 60_000 });
}

function status(name) {
	return JSON.parse(cli(name, 'status', '--json'));
}

// Console errors and uncaught exceptions of a page. Chromium reports every
// HTTP error answer to fetch() as a console error ("Failed to load
// resource: ... status of 400"); a test that provokes one on purpose names
// the status in `allowed`.
function watch(page) {
	const errors = [];
	page.on('console', (m) => {
		if (m.type() === 'error') errors.push(m.text());
	});
	page.on('pageerror', (e) => errors.push('uncaught: ' + e.message));
	return errors;
}

function expectNoErrors(errors, allowed = []) {
	const left = errors.filter((e) => !allowed.some((re) => re.test(e)));
	expect(left, 'console errors').toEqual([]);
}

async function shot(page, file, opts = {}) {
	await page.screenshot({ path: path.join(SHOTS, file), fullPage: opts.fullPage !== false });
}

const test = base.test.extend({
	// browsers: launch(name, extraArgs) starts chromium in that player's
	// namespace (closed with the worker); login(name, viewport) gives a
	// logged-in page {page, context, errors}.
	browsers: [
		async ({}, use) => {
			const started = [];
			const cache = new Map();
			const launch = async (name, extra = []) => {
				const b = await chromium.launch({ executablePath: player(name).chromium, args: [...CHROMIUM_ARGS, ...extra] });
				started.push(b);
				return b;
			};
			const browser = async (name) => {
				if (!cache.has(name)) cache.set(name, await launch(name));
				return cache.get(name);
			};
			const login = async (name, viewport = DESKTOP) => {
				const b = await browser(name);
				const context = await b.newContext({ viewport });
				await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: player(name).base });
				const page = await context.newPage();
				const errors = watch(page);
				const url = loginUrl(name);
				const resp = await page.goto(url);
				expect(resp.status(), 'the page after the login redirect').toBe(200);
				expect(new URL(page.url()).pathname, 'the login redirects to /').toBe('/');
				await expect(page.locator('#screen-login')).toBeHidden();
				await expect(page.locator('#screen-party')).toBeVisible();
				return { page, context, errors };
			};
			await use({ launch, browser, login });
			for (const b of started) await b.close().catch(() => {});
		},
		{ scope: 'worker' },
	],
});

module.exports = { test, expect, lab, player, loginUrl, cli, status, watch, expectNoErrors, shot, DESKTOP, PHONE, SHOTS };
