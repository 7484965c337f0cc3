// Settings and games screens of player a's page.
const { test, expect, cli, expectNoErrors, shot } = require('./fixtures');

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

test('games: the LAN games screen answers', async ({ browsers }) => {
	const { page, errors } = await browsers.login('a');
	await page.click('#tab-games');
	await expect(page.locator('#screen-games')).toBeVisible();
	const games = JSON.parse(cli('a', 'games', '--json')).games || [];
	if (games.length) await expect(page.locator('#games-body tr')).toHaveCount(games.length);
	else await expect(page.locator('#games-empty')).toBeVisible();
	await expect(page.locator('#games-err')).toBeEmpty();
	await shot(page, 'games.png');
	expectNoErrors(errors);
});
