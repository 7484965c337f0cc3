// The settings screen (player a's page) and the games screen (b's).
const { spawn, execFileSync } = require('child_process');
const { test, expect, cli, player, status, expectNoErrors, shot } = require('./fixtures');

test('settings: every setting listed; save, a bad value explained, reset', async ({ browsers }) => {
	const { page, errors } = await browsers.login('a');
	await page.click('#tab-settings');
	const all = JSON.parse(cli('a', 'settings', '--json'));
	const keys = Object.keys(all.settings || all);
	await expect(page.locator('#settings-list form.setting')).toHaveCount(keys.length);
	const row = page.locator('#set-mtu');
	await expect(row.locator('.s-head')).toContainText('int');
	await expect(row.locator('.s-head')).toContainText('applies at next start');
	await expect(row).toContainText('Default: 1420');
	await expect(page.locator('#set-lan_discovery .s-head')).toContainText('applies now');
	await expect(page.locator('#set-lan_discovery-in')).toHaveValue('true');

	await page.fill('#set-mtu-in', '1400');
	await row.getByRole('button', { name: 'Save' }).click();
	await expect(page.locator('#set-mtu-msg')).toHaveText(/^Saved: applies when the daemon next starts/);
	await expect(page.locator('#set-mtu-msg')).toHaveClass(/ok/);
	expect(cli('a', 'settings', 'get', 'mtu').trim()).toMatch(/1400$/);

	await page.fill('#set-mtu-in', '99999');
	await page.press('#set-mtu-in', 'Enter'); // the keyboard saves too
	await expect(page.locator('#set-mtu-msg')).toHaveClass(/err/);
	await expect(page.locator('#set-mtu-msg')).toContainText('1280');
	await expect(page.locator('#set-mtu-in')).toHaveAttribute('aria-invalid', 'true');
	await expect(page.locator('#set-mtu-in')).toBeFocused();
	expect(cli('a', 'settings', 'get', 'mtu').trim(), 'a refused value changes nothing').toMatch(/1400$/);
	await row.scrollIntoViewIfNeeded();
	await shot(page, 'settings.png', { fullPage: false });

	await row.getByRole('button', { name: 'Reset to default' }).click();
	await expect(page.locator('#set-mtu-msg')).toHaveText(/^Back to the default/);
	await expect(page.locator('#set-mtu-in')).toHaveValue('1420');
	expect(cli('a', 'settings', 'get', 'mtu').trim()).toMatch(/1420$/);

	// a setting that applies at once, switched with the keyboard only
	await page.focus('#set-lan_discovery-in');
	await page.selectOption('#set-lan_discovery-in', 'false');
	await page.keyboard.press('Tab'); // to its Save button
	await expect(page.locator('#set-lan_discovery').getByRole('button', { name: 'Save' })).toBeFocused();
	await page.keyboard.press('Enter');
	await expect(page.locator('#set-lan_discovery-msg')).toHaveText(/^Saved: applied now/);
	expect(cli('a', 'settings', 'get', 'lan_discovery').trim()).toMatch(/false$/);
	await page.locator('#set-lan_discovery').getByRole('button', { name: 'Reset to default' }).click();
	await expect(page.locator('#set-lan_discovery-in')).toHaveValue('true');
	expectNoErrors(errors, [/status of 400/]);
});

// A stand-in OpenArena server on a: answers a LAN search (getinfo, which b's
// daemon carries across the party) with a server name that is HTML.
const QUAKE_SERVER = String.raw`
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 27960)); s.settimeout(1.0)
end = time.time() + 40
while time.time() < end:
    try:
        d, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    if d.startswith(b"\xff\xff\xff\xffgetinfo"):
        s.sendto(b"\xff\xff\xff\xffinfoResponse\n\\hostname\\" + sys.argv[1].encode() +
                 b"\\mapname\\oa_dm1\\clients\\2", peer)
`;
// b searching its LAN for OpenArena servers, as the game's server browser does
const QUAKE_SEARCH = String.raw`
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.settimeout(0.5)
for i in range(20):
    s.sendto(b"\xff\xff\xff\xffgetinfo xxx", ("255.255.255.255", 27960))
    try:
        s.recvfrom(2048); break
    except socket.timeout:
        pass
`;

test('games: a LAN game across the party, its server name shown as text', async ({ browsers }) => {
	const hostile = '<img src=x onerror=window.__xss=3>';
	expect(status('a').party_id, 'a and b are in one party').toBe(status('b').party_id);
	const server = spawn('ip', ['netns', 'exec', player('a').ns, 'python3', '-c', QUAKE_SERVER, hostile], { stdio: 'ignore' });
	try {
		const { page, errors } = await browsers.login('b');
		await page.click('#tab-games');
		await expect(page.locator('#screen-games')).toBeVisible();
		await expect(page.locator('#games-empty')).toBeVisible();
		await new Promise((r) => setTimeout(r, 500)); // the server's socket is bound
		execFileSync('ip', ['netns', 'exec', player('b').ns, 'python3', '-c', QUAKE_SEARCH], { timeout: 20_000 });
		const row = page.locator('#games-body tr');
		await expect(row).toHaveCount(1, { timeout: 15_000 });
		const cells = row.locator('td');
		await expect(cells.nth(0)).toHaveText(/OpenArena/);
		await expect(cells.nth(1)).toHaveText('a');
		await expect(cells.nth(2)).toHaveText(status('a').self.virtual_ip + ':27960');
		await expect(cells.nth(3)).toContainText(hostile);
		await expect(page.locator('#games-err')).toBeEmpty();
		expect(await page.locator('#games-body img').count(), 'no element made from the game info').toBe(0);
		expect(await page.evaluate(() => window.__xss)).toBeUndefined();
		await shot(page, 'games.png');
		expectNoErrors(errors);
	} finally {
		server.kill();
	}
});
