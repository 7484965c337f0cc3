// Leaving from the page, and the page when the daemon goes away and comes back.
const { test, expect, player, status, lab, cli, expectNoErrors, shot } = require('./fixtures');
const { spawn } = require('child_process');

test('B leaves in its page; A sees it go', async ({ browsers }) => {
	const a = await browsers.login('a');
	const { page, errors } = await browsers.login('b');
	await expect(page.locator('#party-active')).toBeVisible();
	const others = page.locator('#members li.member');
	await expect(a.page.locator('#members li.member').filter({ has: a.page.locator('.m-name').getByText('b', { exact: true }) })).toHaveCount(1);
	await page.click('#leave-btn');
	await expect(page.locator('#party-idle')).toBeVisible({ timeout: 30_000 });
	await expect(others).toHaveCount(0);
	expect(status('b').state).toBe('idle');
	await expect(a.page.locator('#members li.member').filter({ has: a.page.locator('.m-name').getByText('b', { exact: true }) }),
		'A no longer lists B').toHaveCount(0, { timeout: 30_000 });
	expectNoErrors(errors);
	expectNoErrors(a.errors);
});

test('daemon stopped: a banner; started again: the page recovers by itself', async ({ browsers }) => {
	const { page, errors } = await browsers.login('c');
	cli('c', 'down');
	await expect(page.locator('#banner-daemon')).toBeVisible({ timeout: 15_000 });
	await expect(page.locator('#banner-daemon')).toContainText('daemon is not running');
	await shot(page, 'daemon-down.png');
	const [cmd, ...args] = player('c').daemon;
	spawn(cmd, args, { detached: true, stdio: 'ignore' }).unref(); // in the lab's namespace: nl_down ends it
	await expect(page.locator('#banner-daemon')).toBeHidden({ timeout: 30_000 });
	// a new daemon knows no session: the page says how to log in again
	await expect(page.locator('#screen-login')).toBeVisible({ timeout: 15_000 });
	// the browser reports each refused connection while the daemon was away
	expectNoErrors(errors, [/ERR_CONNECTION_REFUSED/, /status of 401/]);
});
