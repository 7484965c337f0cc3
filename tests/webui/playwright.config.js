// Playwright settings for the web UI's browser tests. run.sh builds the lab
// and sets WEBUI_LAB (the lab description, see specs/fixtures.js) and
// WEBUI_OUT (results, screenshots); every browser is launched by the
// fixtures, inside a player's network namespace, so no project here names one.
const path = require('path');
const { defineConfig } = require('@playwright/test');

const out = process.env.WEBUI_OUT || path.join(__dirname, 'out');

module.exports = defineConfig({
	testDir: './specs',
	// One lab, one worker: the tests share the daemons' party and run in order.
	workers: 1,
	fullyParallel: false,
	retries: 0,
	timeout: 90_000,
	expect: { timeout: 20_000 },
	outputDir: path.join(out, 'test-results'),
	reporter: [['list'], ['json', { outputFile: path.join(out, 'results.json') }]],
	use: { headless: true, trace: 'off' },
});
