// The control server goes away (last: nothing after this needs it).
const { test, expect, lab, status, expectNoErrors, shot } = require('./fixtures');

test('control server stopped: a banner, and a create refused with the reason', async ({ browsers }) => {
	const a = await browsers.login('a');
	const { page, errors } = await browsers.login('b');
	await expect(page.locator('#party-idle')).toBeVisible();
	await expect(page.locator('#banner-control')).toBeHidden();
	process.kill(lab.ctl_pid, 'SIGTERM');
	for (const p of [a.page, page]) {
		await expect(p.locator('#banner-control')).toBeVisible({ timeout: 30_000 });
		await expect(p.locator('#banner-control')).toContainText(lab.ctl_url);
	}
	expect(status('b').control.connected).toBe(false);
	await page.fill('#create-name', 'no server');
	await page.click('#create-btn');
	await expect(page.locator('#create-err')).not.toBeEmpty({ timeout: 30_000 });
	await expect(page.locator('#party-idle')).toBeVisible();
	expect(status('b').state).toBe('idle');
	await shot(page, 'control-down.png');
	// a is still shown in its party, members and all
	await expect(a.page.locator('#party-active')).toBeVisible();
	expectNoErrors(errors, [/status of 5\d\d/]);
	expectNoErrors(a.errors);
});
