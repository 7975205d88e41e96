/**
 * The n8n editor in headless Chromium, signed in as the owner, with the webhook example
 * open: the Factori node on the canvas with its name and icon, and its parameters once
 * opened. Screenshots go to .artifacts/e2e/.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import type { Browser, Page } from 'playwright-core';

import { startSimulator, type Simulator } from '../../dev/simulator/server';
import { FACTORI_CREDENTIAL_TYPE, FACTORI_NODE_TYPE } from '../../dev/examples';
import { HOST, REPO_ROOT, type StoredWorkflow } from '../../dev/n8n-instance';
import { ensureChromium, launchChromium } from './support/browser';
import { SharedN8n } from './support/shared-n8n';
import { importExample } from './support/workflows';

const ACCOUNT = { username: 'e2e-editor-user', password: 'editor-pass-e2e-1' };
const CREDENTIAL_NAME = 'Factori (editor test)';
const ARTIFACTS = path.join(REPO_ROOT, '.artifacts', 'e2e');
const ICON_PATH = '/icons/n8n-nodes-factori/dist/nodes/Factori/factori.svg';

describe('the Factori node in the n8n editor', () => {
	let n8n: SharedN8n;
	let sim: Simulator;
	let browser: Browser;
	let page: Page;
	let workflow: StoredWorkflow;
	const pageErrors: string[] = [];

	beforeAll(async () => {
		ensureChromium();
		await mkdir(ARTIFACTS, { recursive: true });
		sim = await startSimulator({ accounts: [ACCOUNT] });
		n8n = await SharedN8n.open();
		const credential = await n8n.rest.createCredential(CREDENTIAL_NAME, FACTORI_CREDENTIAL_TYPE, {
			username: ACCOUNT.username,
			password: ACCOUNT.password,
			baseUrl: sim.url,
		});
		workflow = await importExample(n8n, 'webhook', { credential, webhookPath: 'e2e-editor', name: 'webhook example (editor)' });
		browser = await launchChromium();
		const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
		await context.addCookies([{ name: 'n8n-auth', value: n8n.cookie, domain: HOST, path: '/', httpOnly: true }]);
		page = await context.newPage();
		page.on('pageerror', (error) => pageErrors.push(error.message));
	}, 600_000);

	afterAll(async () => {
		await browser?.close();
		await sim?.stop();
	});

	test('the canvas shows the Factori node with its name and its icon', async () => {
		await page.goto(`${n8n.url}/workflow/${workflow.id}`);
		const node = page.locator(`[data-test-id="canvas-node"][data-node-name="Factori"]`);
		await node.waitFor({ state: 'visible', timeout: 90_000 });

		expect(await node.getAttribute('data-node-type')).toBe(FACTORI_NODE_TYPE);
		expect(await node.innerText()).toContain('Factori');
		const icons = await node
			.locator('img')
			.evaluateAll((images) => images.map((image) => ({ src: image.getAttribute('src'), width: (image as unknown as { naturalWidth: number }).naturalWidth })));
		expect(icons).toEqual([{ src: ICON_PATH, width: expect.any(Number) }]);
		expect(icons[0].width).toBeGreaterThan(0);
		// The icon the editor shows is the one in the package.
		const served = await (await fetch(`${n8n.url}${ICON_PATH}`)).text();
		expect(served).toBe(await readFile(path.join(REPO_ROOT, 'nodes', 'Factori', 'factori.svg'), 'utf8'));

		await page.screenshot({ path: path.join(ARTIFACTS, 'editor-canvas.png') });
		expect(pageErrors.filter((message) => /factori/i.test(message))).toEqual([]);
	});

	test('opening the node shows its credential and parameters', async () => {
		await page.locator(`[data-test-id="canvas-node"][data-node-name="Factori"]`).dblclick();
		const ndv = page.locator('[data-test-id="ndv"]');
		await ndv.waitFor({ state: 'visible', timeout: 30_000 });

		for (const parameter of ['resource', 'operation', 'identifierType', 'identifier', 'identifierFormat', 'includeInputFields']) {
			await ndv.locator(`[data-test-id="parameter-input-${parameter}"]`).first().waitFor({ state: 'visible', timeout: 15_000 });
		}
		const labels = await ndv.locator('label').allInnerTexts();
		for (const label of ['Credential', 'Resource', 'Operation', 'Identifier Type', 'Identifier', 'Identifier Format']) {
			expect(labels.some((text) => text.startsWith(label))).toBe(true);
		}
		// The credential select shows the chosen credential's name as its input's value.
		const values = await ndv.locator('input').evaluateAll((inputs) => inputs.map((input) => (input as unknown as { value: string }).value));
		expect(values).toContain(CREDENTIAL_NAME);
		await page.screenshot({ path: path.join(ARTIFACTS, 'editor-node.png') });
		expect(pageErrors.filter((message) => /factori/i.test(message))).toEqual([]);
	});
});
