/**
 * `npm run pack:check` (after `npm run build`): what a user of the published package gets.
 *
 * 1. The tarball `npm pack` makes holds dist/ and package.json, plus README.md, LICENSE and
 *    CHANGELOG.md wherever the repository has them, and nothing else; every file the
 *    package.json `n8n` section names is in it.
 * 2. No source file switches a lint rule off inline.
 * 3. The rule set of n8n's community package scanner (@n8n/scan-community-package 0.32.0,
 *    scanner/scanner.mjs, `buildScanConfig` and `analyzePackage`), run as it runs it: once on
 *    the source (package.json and nodes/, credentials/) and once on the unpacked tarball
 *    (its .js files and package.json), with inline configuration ignored. The scanner itself
 *    only fetches published packages, so its configuration is rebuilt here with the plugin
 *    versions this project pins.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';
import { ESLint, type Linter } from 'eslint';
import n8nNodesPlugin from 'eslint-plugin-n8n-nodes-base';
import tseslint from 'typescript-eslint';

import { REPO_ROOT, packPackage } from './n8n-instance';

const run = promisify(execFile);

/** Besides dist/: package.json always, these when the repository has them. */
const ROOT_FILES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
/** Folders that hold no sources of this repository. */
const NOT_SOURCES = new Set(['node_modules', '.git', 'dist', 'coverage', '.artifacts']);
// Spelled in two parts so that this file does not match its own search.
const INLINE_DISABLE = ['eslint', 'disable'].join('-');

type Problem = string;

async function filesUnder(root: string, skip: (relative: string) => boolean = () => false): Promise<string[]> {
	const found: string[] = [];
	const walk = async (relative: string): Promise<void> => {
		for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
			const child = relative ? `${relative}/${entry.name}` : entry.name;
			if (skip(child)) continue;
			if (entry.isDirectory()) await walk(child);
			else if (entry.isFile()) found.push(child);
		}
	};
	await walk('');
	return found.sort();
}

async function checkTarballContents(files: string[]): Promise<Problem[]> {
	const problems: Problem[] = [];
	const allowed = (file: string) => file.startsWith('dist/') || ROOT_FILES.includes(file);
	for (const file of files.filter((file) => !allowed(file))) problems.push(`the tarball holds ${file}, which users do not need`);
	for (const file of ROOT_FILES.filter((file) => existsSync(path.join(REPO_ROOT, file)))) {
		if (!files.includes(file)) problems.push(`the tarball lacks ${file} (add it to "files" in package.json)`);
	}
	if (!files.some((file) => file.startsWith('dist/'))) problems.push('the tarball holds no dist/ (run npm run build first)');
	const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
		n8n?: { nodes?: string[]; credentials?: string[] };
	};
	for (const file of [...(manifest.n8n?.nodes ?? []), ...(manifest.n8n?.credentials ?? [])]) {
		if (!files.includes(file)) problems.push(`the tarball lacks ${file}, which package.json's n8n section names`);
	}
	return problems;
}

async function checkNoInlineDisable(): Promise<Problem[]> {
	const files = await filesUnder(REPO_ROOT, (relative) => NOT_SOURCES.has(relative) || relative.endsWith('.tgz'));
	const problems: Problem[] = [];
	for (const file of files) {
		const text = await readFile(path.join(REPO_ROOT, file), 'utf8').catch(() => '');
		text.split('\n').forEach((line, index) => {
			if (line.includes(INLINE_DISABLE)) problems.push(`${file}:${index + 1} switches lint rules off inline`);
		});
	}
	return problems;
}

/** The scanner's `buildScanConfig`, rule for rule. */
function scanConfig(): Linter.Config[] {
	const parser = tseslint.parser as Linter.Parser;
	const rulesOf = (name: 'community' | 'credentials' | 'nodes') => n8nNodesPlugin.configs[name].rules;
	return [
		n8nCommunityNodesPlugin.configs.recommended as Linter.Config,
		{ rules: { 'no-console': 'error' } },
		{ plugins: { 'n8n-nodes-base': n8nNodesPlugin } },
		{ files: ['package.json'], rules: { ...rulesOf('community') } },
		{
			files: ['**/credentials/**/*.ts'],
			rules: {
				...rulesOf('credentials'),
				'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
				'n8n-nodes-base/cred-class-field-type-options-password-missing': 'off',
			},
		},
		{
			files: ['**/nodes/**/*.ts'],
			rules: {
				...rulesOf('nodes'),
				'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
				'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
				'n8n-nodes-base/node-param-type-options-max-value-present': 'off',
			},
		},
		{ files: ['**/*.json'], languageOptions: { parser } },
		{ files: ['**/*.ts'], languageOptions: { parser } },
	];
}

/** The scanner's `analyzePackage`: ESLint in `dir` on the files `select` picks, inline config off. */
async function scan(dir: string, label: string, select: (relative: string) => boolean): Promise<Problem[]> {
	const files = (await filesUnder(dir, (relative) => relative === 'node_modules')).filter(
		(file) => select(file) && !file.endsWith('package-lock.json'),
	);
	if (files.length === 0) return [`${label}: no files to scan`];
	const eslint = new ESLint({ cwd: dir, allowInlineConfig: false, overrideConfigFile: true, overrideConfig: scanConfig() });
	const results = await eslint.lintFiles(files.map((file) => path.join(dir, file)));
	const problems: Problem[] = [];
	for (const result of results) {
		for (const message of result.messages.filter((message) => message.severity === 2)) {
			problems.push(`${label}: ${path.relative(dir, result.filePath)}:${message.line}:${message.column} ${message.message} (${message.ruleId ?? 'parser'})`);
		}
	}
	process.stdout.write(`  ${label}: ${files.length} files scanned\n`);
	return problems;
}

async function main(): Promise<void> {
	const workDir = await mkdtemp(path.join(os.tmpdir(), 'factori-pack-check-'));
	try {
		const tarball = await packPackage(workDir);
		const { stdout } = await run('tar', ['-tzf', tarball]);
		const files = stdout
			.split('\n')
			.filter(Boolean)
			.map((entry) => entry.replace(/^package\//, ''));
		process.stdout.write(`${path.basename(tarball)}: ${files.length} files\n`);

		const unpacked = path.join(workDir, 'package');
		await run('tar', ['-xzf', tarball, '-C', workDir]);

		const problems = [
			...(await checkTarballContents(files)),
			...(await checkNoInlineDisable()),
			...(await scan(REPO_ROOT, 'scanner rules, source', (file) => file === 'package.json' || /^(nodes|credentials)\/.*\.(js|ts|json)$/.test(file))),
			...(await scan(unpacked, 'scanner rules, tarball', (file) => file === 'package.json' || file.endsWith('.js'))),
		];
		if (problems.length > 0) {
			process.stdout.write(`\npack:check found ${problems.length} problem(s):\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n`);
			process.exitCode = 1;
			return;
		}
		process.stdout.write('pack:check passed: tarball contents, no inline lint switches, community scanner rules on source and tarball\n');
	} finally {
		await rm(workDir, { recursive: true, force: true });
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`pack:check failed to run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exitCode = 1;
});
