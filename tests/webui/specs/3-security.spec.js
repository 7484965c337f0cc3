// What another origin can do to player a's daemon with a's browser: nothing.
// a is in the party made by 1-party.spec.js (or one made here if not).
const { test, expect, lab, player, cli, status, loginUrl, watch, expectNoErrors, shot } = require('./fixtures');

// a's party before an attack, made by the CLI if an earlier test failed to
function partyOf(name) {
	let st = status(name);
	if (st.state !== 'active') {
		cli(name, 'party', 'create', 'security');
		st = status(name);
	}
	return st.party_id;
}

function stillIn(name, partyId) {
	const st = status(name);
	expect(st.state, name + ' is still in its party').toBe('active');
	expect(st.party_id).toBe(partyId);
}

test('the daemon sends its security headers with the page', async ({ browsers }) => {
	const { page, errors } = await browsers.login('a');
	const resp = await page.goto(player('a').base + '/');
	const h = resp.headers();
	expect(h['content-security-policy']).toContain("script-src 'self'");
	expect(h['content-security-policy']).toContain("frame-ancestors 'none'");
	expect(h['x-content-type-options']).toBe('nosniff');
	expect(h['x-frame-options']).toBe('DENY');
	const cookies = await page.context().cookies();
	const session = cookies.find((c) => c.name === 'lanrage_session');
	expect(session, 'the session cookie').toBeTruthy();
	expect(session.httpOnly).toBe(true);
	expect(session.sameSite).toBe('Strict');
	expect(await page.evaluate(() => document.cookie), 'scripts cannot read it').not.toContain('lanrage_session');
	expectNoErrors(errors);
});

test('a login URL works once', async ({ browsers }) => {
	const b = await browsers.browser('a');
	const ctx = await b.newContext();
	const page = await ctx.newPage();
	const errors = watch(page);
	const url = loginUrl('a');
	expect((await page.goto(url)).status()).toBe(200);
	const again = await (await ctx.newPage()).goto(url);
	expect(again.status(), 'the same code a second time').toBe(403);
	expect(await again.text()).toContain('lanrage ui');
	await ctx.close();
	expectNoErrors(errors);
});

test('Log out ends the session', async ({ browsers }) => {
	const { page, errors } = await browsers.login('a');
	await page.getByRole('button', { name: 'Log out' }).click();
	await expect(page.locator('#screen-login')).toBeVisible();
	const cookies = await page.context().cookies();
	expect(cookies.find((c) => c.name === 'lanrage_session'), 'the cookie is gone').toBeFalsy();
	await page.reload();
	await expect(page.locator('#screen-login')).toBeVisible();
	expect(await page.evaluate(async () => (await fetch('/v1/status')).status)).toBe(401);
	expectNoErrors(errors, [/status of 401/]);
});

test('no session: 401 and the not-logged-in screen', async ({ browsers }) => {
	const party = partyOf('a');
	const b = await browsers.browser('a');
	const ctx = await b.newContext();
	const page = await ctx.newPage();
	const errors = watch(page);
	await page.goto(player('a').base + '/');
	await expect(page.locator('#screen-login')).toBeVisible();
	await expect(page.locator('#screen-login')).toContainText('lanrage ui');
	await expect(page.locator('#screen-party')).toBeHidden();
	const r = await page.evaluate(async () => {
		const s = await fetch('/v1/status');
		const l = await fetch('/v1/party/leave', { method: 'POST', headers: { 'X-LANrage-CSRF': '0'.repeat(64) } });
		return { status: s.status, body: await s.text(), leave: l.status };
	});
	expect(r.status).toBe(401);
	expect(r.body).not.toContain(party);
	expect(r.leave).toBe(401);
	stillIn('a', party);
	await shot(page, 'login.png');
	await ctx.close();
	expectNoErrors(errors, [/status of 401/]);
});

test('a session without the CSRF header changes nothing', async ({ browsers }) => {
	const party = partyOf('a');
	const { page, errors } = await browsers.login('a');
	const r = await page.evaluate(async () => {
		const none = await fetch('/v1/party/leave', { method: 'POST' });
		const wrong = await fetch('/v1/party/leave', { method: 'POST', headers: { 'X-LANrage-CSRF': '0'.repeat(64) } });
		const set = await fetch('/v1/settings', { method: 'POST', headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ key: 'mtu', value: '1300' }) });
		return { none: [none.status, (await none.json()).error], wrong: wrong.status, set: set.status };
	});
	expect(r.none).toEqual([403, 'csrf']);
	expect(r.wrong).toBe(403);
	expect(r.set).toBe(403);
	stillIn('a', party);
	expect(cli('a', 'settings', 'get', 'mtu').trim()).not.toMatch(/1300$/);
	expectNoErrors(errors, [/status of 403/]);
});

test('DNS rebinding: rebind.test:8666 (resolving to 127.0.0.1) is refused', async ({ browsers }) => {
	const party = partyOf('a');
	const b = await browsers.launch('a', ['--host-resolver-rules=MAP rebind.test 127.0.0.1']);
	const ctx = await b.newContext();
	const page = await ctx.newPage();
	const errors = watch(page);
	// the same browser holds a session for 127.0.0.1
	expect((await page.goto(loginUrl('a'))).status()).toBe(200);
	const resp = await page.goto('http://rebind.test:8666/');
	expect(resp.status(), 'the page under a foreign Host').toBe(403);
	expect(await resp.text()).not.toContain('app.js');
	const r = await page.evaluate(async () => {
		const s = await fetch('/v1/status');
		const l = await fetch('/v1/party/leave', { method: 'POST' });
		return { status: s.status, body: await s.text(), leave: l.status };
	});
	expect(r.status).toBe(403);
	expect(r.body).not.toContain(party);
	expect(r.leave).toBe(403);
	stillIn('a', party);
	await ctx.close();
	expectNoErrors(errors, [/status of 403/]);
});

test('a page on another port cannot read or change anything', async ({ browsers }) => {
	const party = partyOf('a');
	const { page, context, errors } = await browsers.login('a');
	const evil = await context.newPage(); // same browser, same session cookie
	const evilErrors = watch(evil);
	await evil.goto(lab.evil);
	const r = await evil.evaluate(() => window.attack());
	for (const k of ['leave', 'leaveHeader', 'status', 'session']) {
		expect(r[k].error, k + ': the page gets no answer it can read').toMatch(/TypeError/);
	}
	expect(r.leaveNoCors.status, 'no-cors: opaque').toBe(0);
	stillIn('a', party);
	// a plain HTML form: a navigation, cookie and Origin sent
	const [nav] = await Promise.all([evil.waitForNavigation(), evil.click('#leave button')]);
	expect(nav.status(), 'the form POST').toBe(403);
	expect(await nav.text()).not.toContain('idle');
	stillIn('a', party);
	// a's own page is still in the party too
	await page.reload();
	await expect(page.locator('#party-active')).toBeVisible();
	await expect(page.locator('#share-code')).toHaveValue(party);
	expectNoErrors(errors);
	expect(evilErrors.filter((e) => !/CORS|Failed to (fetch|load resource)/.test(e))).toEqual([]);
});
