import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium; playwright-core drives it and downloads no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless in a container: no sandbox, GPU, QUIC, first-run UI or background traffic. */
const FLAGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

/** Installs Debian's chromium package when it is missing (about 30 s; needs root). */
export function ensureChromium(): void {
	if (existsSync(CHROMIUM)) return;
	if (process.getuid?.() !== 0) {
		throw new Error(`${CHROMIUM} is missing and this is not root: install it with "apt-get update && apt-get install -y chromium"`);
	}
	execFileSync('bash', ['-c', 'apt-get update -qq && apt-get install -y -qq chromium'], {
		stdio: ['ignore', 'ignore', 'inherit'],
		env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
		timeout: 10 * 60 * 1000,
	});
	if (!existsSync(CHROMIUM)) throw new Error(`apt-get ran but ${CHROMIUM} is still missing`);
}

/** A headless Chromium with a fresh profile (playwright makes a temporary one per launch). */
export async function launchChromium(): Promise<Browser> {
	return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}
