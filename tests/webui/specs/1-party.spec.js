// A party made and joined in the pages of two real daemons (a: full cone,
// b: symmetric NAT: a direct pair), then a third player joining by the CLI
// under a hostile name (c: symmetric too, so b reaches it through the relay).
const { test, expect, lab, cli, status, expectNoErrors, shot, PHONE } = require('./fixtures');

// The card of the member named exactly NAME in a page's member list.
function card(page, name) {
	return page.locator('#members li.member').filter({ has: page.locator('.m-name').getByText(name, { exact: true }) });
}

// How many measured RTT samples the page's chart of that member holds.
async function samples(c) {
	const label = (await c.locator('svg.chart').getAttribute('aria-label')) || '';
	const m = label.match(/(\d+) samples/);
	return m ? Number(m[1]) : 0;
}

test('A creates a party in the page and copies its share code', async ({ browsers }) => {
	const { page, errors } = await browsers.login('a');
	await expect(page.locator('#party-idle')).toBeVisible();
	await shot(page, 'party-idle.png');
	// keyboard only: the name, then Enter
	await page.focus('#create-name');
	await page.keyboard.type('webui night');
	await page.keyboard.press('Enter');
	await expect(page.locator('#party-active')).toBeVisible({ timeout: 30_000 });
	await expect(page.locator('#party-name')).toHaveText('webui night');
	const code = await page.inputValue('#share-code');
	expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
	expect(status('a').party_id, 'the daemon is in the party the page shows').toBe(code);
	await page.click('#copy-btn');
	await expect(page.locator('#copy-msg')).toContainText('Copied');
	expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(code);
	expectNoErrors(errors);
});

test('B runs netcheck while idle: progress, then the report', async ({ browsers }) => {
	const { page, errors } = await browsers.login('b');
	// keyboard only: Tab from the first screen's link to the next, Enter;
	// the focus is visible
	await page.focus('#tab-party');
	await page.keyboard.press('Tab');
	await expect(page.locator('#tab-node')).toBeFocused();
	expect(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle)).not.toBe('none');
	await page.keyboard.press('Enter');
	await expect(page.locator('#screen-node')).toBeVisible();
	await expect(page.locator('#node-control')).toContainText('connected');
	await expect(page.locator('#node-control')).toContainText('wss://203.0.113.30:8667');
	// what the progress showed, recorded as it changes (a fast check could
	// be over before a poll of the page sees it)
	await page.evaluate(() => {
		window.__progress = [];
		const p = document.getElementById('netcheck-progress');
		new MutationObserver(() => {
			if (!p.hidden) window.__progress.push(document.getElementById('netcheck-secs').textContent);
		}).observe(document.getElementById('netcheck-card'), { subtree: true, childList: true, attributes: true, characterData: true });
	});
	await page.click('#netcheck-btn');
	if (await page.locator('#netcheck-progress').isVisible()) {
		await expect(page.locator('#netcheck-btn')).toBeDisabled();
		await shot(page, 'node-netcheck-running.png');
	}
	await expect(page.locator('#netcheck-report')).toBeVisible({ timeout: 30_000 });
	await expect(page.locator('#netcheck-progress')).toBeHidden();
	await expect(page.locator('#netcheck-btn')).toBeEnabled();
	const seen = await page.evaluate(() => window.__progress);
	expect(seen.length, 'the progress bar and seconds were shown').toBeGreaterThan(0);
	expect(seen[0]).toMatch(/^\d+\.\d s$/);
	await expect(page.locator('#netcheck-kv .nc-type')).toHaveText('symmetric');
	await expect(page.locator('#netcheck-kv')).toContainText('a check just now');
	await shot(page, 'node.png');
	expectNoErrors(errors);
});

test('B joins by pasting the share code; a malformed code is explained', async ({ browsers }) => {
	const code = status('a').party_id;
	expect(code, 'A is in a party').toBeTruthy();
	const { page, errors } = await browsers.login('b');
	await expect(page.locator('#party-idle')).toBeVisible();
	await page.fill('#join-code', 'ABCD-EFG');
	await page.click('#join-btn');
	await expect(page.locator('#join-err')).toContainText('is not a share code');
	await expect(page.locator('#party-idle')).toBeVisible();
	// the code as a friend might send it: lower case, spaces for dashes
	const typed = code.toLowerCase().replace(/-/g, ' ');
	await page.evaluate((t) => navigator.clipboard.writeText(t), typed);
	await page.click('#paste-btn');
	await expect(page.locator('#join-code')).toHaveValue(typed);
	await page.click('#join-btn');
	await expect(page.locator('#party-active')).toBeVisible({ timeout: 30_000 });
	await expect(page.locator('#share-code')).toHaveValue(code);
	await expect(page.locator('#party-name')).toHaveText('webui night');
	expect(status('b').party_id).toBe(code);
	expectNoErrors(errors, [/status of 400/]);
});

test('both pages show the other member direct, with RTTs updating', async ({ browsers }) => {
	for (const [me, other] of [['a', 'b'], ['b', 'a']]) {
		const { page, errors } = await browsers.login(me);
		const c = card(page, other);
		await expect(c).toHaveCount(1, { timeout: 30_000 });
		await expect(c.locator('.m-ip')).toHaveText(status(other).self.virtual_ip);
		await expect(c.locator('.path'), me + ' reaches ' + other + ' directly').toHaveText('direct', { timeout: 40_000 });
		await expect(c.locator('.m-path')).toContainText('direct (');
		await expect(c.locator('.m-rtt')).toHaveText(/^\d+(\.\d)? ms$/, { timeout: 20_000 });
		await expect(c.locator('.m-rtt')).toHaveClass(/rtt-good/); // a lab's RTT is well below 50 ms
		await expect(c.locator('.m-loss')).toHaveText(/^\d+\.\d %$/);
		await expect(c.locator('.m-nat')).toHaveText(me === 'a' ? 'symmetric' : 'full-cone');
		// every poll brings a measured RTT: the chart's samples keep growing
		const n1 = await samples(c);
		await page.waitForTimeout(3_000);
		await expect(c.locator('.m-rtt')).toHaveText(/^\d+(\.\d)? ms$/);
		const n2 = await samples(c);
		expect(n2, 'RTT samples after 3 s more of polling').toBeGreaterThanOrEqual(n1 + 2);
		expectNoErrors(errors);
	}
});

test('a member named <img src=x onerror=...> is shown as text; B reaches it by relay', async ({ browsers }) => {
	const code = status('a').party_id;
	cli('c', 'party', 'join', code);
	const { page, errors } = await browsers.login('b');
	const c = card(page, lab.xss_name);
	await expect(c).toHaveCount(1, { timeout: 30_000 });
	await expect(c.locator('.m-name')).toHaveText(lab.xss_name);
	await expect(c.locator('.path'), 'two symmetric NATs go through the relay').toHaveText('relay', { timeout: 40_000 });
	const member = status('b').members.find((m) => m.name === lab.xss_name);
	expect(member.relay_id).toBeTruthy();
	await expect(c.locator('.m-path')).toContainText('relay ' + member.relay_id);
	await expect(c.locator('.m-rtt')).toHaveText(/^\d+(\.\d)? ms$/, { timeout: 20_000 });
	await page.waitForTimeout(8_000); // polls with the hostile name on the page (and a chart for the docs)
	expect(await page.locator('#members img').count(), 'no element made from the name').toBe(0);
	expect(await page.evaluate(() => window.__xss), 'the onerror handler never ran').toBeUndefined();
	await shot(page, 'party.png');
	expectNoErrors(errors);

	// A: the same name as text, on a phone-sized screen
	const small = await browsers.login('a', PHONE);
	const ca = card(small.page, lab.xss_name);
	await expect(ca.locator('.m-name')).toHaveText(lab.xss_name, { timeout: 30_000 });
	await expect(ca.locator('.path')).not.toHaveText('connecting', { timeout: 40_000 });
	await expect(card(small.page, 'b').locator('.m-rtt')).toHaveText(/^\d+(\.\d)? ms$/);
	const width = await small.page.evaluate(() => document.documentElement.scrollWidth);
	expect(width, 'nothing wider than a 360 px screen').toBeLessThanOrEqual(360);
	expect(await small.page.evaluate(() => window.__xss)).toBeUndefined();
	await shot(small.page, 'party-360.png');
	for (const screen of ['node', 'games', 'settings']) {
		await small.page.click('#tab-' + screen);
		await expect(small.page.locator('#screen-' + screen)).toBeVisible();
		if (screen === 'settings') await expect(small.page.locator('#set-mtu')).toBeVisible();
		const w = await small.page.evaluate(() => document.documentElement.scrollWidth);
		expect(w, screen + ': nothing wider than a 360 px screen').toBeLessThanOrEqual(360);
	}
	expectNoErrors(small.errors);
});
