/**
 * The spreadsheet and usage examples, run in a real n8n as a user runs them from the editor
 * ("Execute workflow"), and a check that every example names node types, versions and
 * parameters that the installed n8n and package know.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { consumerFor, startSimulator, type Simulator } from '../../dev/simulator/server';
import {
	EXAMPLES,
	FACTORI_CREDENTIAL_TYPE,
	FACTORI_NODE_TYPE,
	filePathsOf,
	prepareExample,
	readExample,
	type ExampleName,
} from '../../dev/examples';
import { outputOf, pairedIndex, runManually } from './support/executions';
import { leaks, tokensSeen } from './support/secrets';
import { SharedN8n } from './support/shared-n8n';
import { importExample } from './support/workflows';

const ACCOUNT = { username: 'e2e-examples-user', password: 'examples-pass-e2e-1' };

/** A small RFC 4180 reader: quoted fields, doubled quotes, a leading byte order mark. */
function parseCsv(text: string): Array<Record<string, string>> {
	const rows: string[][] = [];
	let row: string[] = [];
	let field = '';
	let quoted = false;
	const source = text.replace(/^\uFEFF/, '');
	for (let index = 0; index < source.length; index++) {
		const char = source[index];
		if (quoted) {
			if (char === '"' && source[index + 1] === '"') {
				field += '"';
				index++;
			} else if (char === '"') quoted = false;
			else field += char;
		} else if (char === '"') quoted = true;
		else if (char === ',') {
			row.push(field);
			field = '';
		} else if (char === '\n' || char === '\r') {
			if (char === '\r' && source[index + 1] === '\n') index++;
			row.push(field);
			rows.push(row);
			row = [];
			field = '';
		} else field += char;
	}
	if (field !== '' || row.length > 0) {
		row.push(field);
		rows.push(row);
	}
	const [header, ...data] = rows.filter((cells) => cells.some((cell) => cell !== ''));
	return data.map((cells) => Object.fromEntries(header.map((name, column) => [name, cells[column] ?? ''])));
}

interface NodeTypeInfo {
	name: string;
	version: number | number[];
	properties: Array<{ name: string }>;
}

describe('the example workflows in n8n', () => {
	let n8n: SharedN8n;
	let sim: Simulator;
	let credential: { id: string; name: string };

	beforeAll(async () => {
		sim = await startSimulator({ accounts: [ACCOUNT] });
		n8n = await SharedN8n.open();
		credential = await n8n.rest.createCredential('Factori (examples test)', FACTORI_CREDENTIAL_TYPE, {
			username: ACCOUNT.username,
			password: ACCOUNT.password,
			baseUrl: sim.url,
		});
	});

	afterAll(async () => {
		await sim?.stop();
	});

	test('every example uses node types, versions and Factori parameters this n8n knows', async () => {
		const response = await fetch(`${n8n.url}/types/nodes.json`, { headers: { cookie: `n8n-auth=${n8n.cookie}` } });
		const types = (await response.json()) as NodeTypeInfo[];
		const versions = new Map<string, number[]>();
		for (const type of types) versions.set(type.name, [...(versions.get(type.name) ?? []), ...[type.version].flat()]);
		const factoriProperties = new Set(
			types.filter((type) => type.name === FACTORI_NODE_TYPE).flatMap((type) => type.properties.map((property) => property.name)),
		);
		expect(factoriProperties.has('identifierType')).toBe(true);

		for (const name of Object.keys(EXAMPLES) as ExampleName[]) {
			const workflow = await readExample(name);
			for (const node of workflow.nodes) {
				expect({ example: name, node: node.name, known: versions.get(node.type)?.includes(node.typeVersion as number) ?? false }).toEqual({
					example: name,
					node: node.name,
					known: true,
				});
				if (node.type === FACTORI_NODE_TYPE) {
					const unknown = Object.keys(node.parameters).filter((parameter) => !factoriProperties.has(parameter));
					expect({ example: name, node: node.name, unknown }).toEqual({ example: name, node: node.name, unknown: [] });
				}
			}
			expect(workflow.nodes.some((node) => node.type === FACTORI_NODE_TYPE)).toBe(true);
		}
	});

	test('the CSV example writes the enriched rows and sends bad rows down the error output', async () => {
		const folder = path.join(n8n.settings.filesDir, 'csv-example');
		await mkdir(folder, { recursive: true });
		const input = [
			'name,email,segment',
			'Ann Example,Ann.Example@Example.com,a',
			'Bob Example,bob.example@example.org,b',
			'No Match,nomatch.csv@example.com,c',
			'Broken Row,not-an-email,d',
			'Ann Again,ann.example@example.com,e',
			'Empty Email,,f',
			'"Quoted, Name",q.name@example.com,"g ""quoted"""',
			'',
		].join('\n');
		const prepared = prepareExample(await readExample('spreadsheet'), { credential, filesDir: folder, name: 'CSV example (e2e)' });
		const paths = filePathsOf(prepared);
		expect(Object.values(paths).every((file) => path.dirname(file) === folder)).toBe(true);
		await writeFile(paths.inputFile, input);
		const workflow = await n8n.rest.createWorkflow(prepared);

		const run = await runManually(n8n.rest, workflow.id, 'Run Manually');

		expect({ status: run.status, error: run.error?.message }).toEqual({ status: 'success', error: undefined });
		// The routing itself: results on output 0, failures on output 1, each paired to its row.
		const results = outputOf(run, 'Factori', 0);
		const failures = outputOf(run, 'Factori', 1);
		expect(results.map(pairedIndex)).toEqual([0, 1, 2, 4, 6]);
		expect(failures.map(pairedIndex)).toEqual([3, 5]);
		expect(failures.map((item) => Object.keys(item.json))).toEqual([['error'], ['error']]);

		const enriched = parseCsv(await readFile(paths.enrichedFile, 'utf8'));
		const ann = consumerFor('email', 'ann.example@example.com');
		const bob = consumerFor('email', 'bob.example@example.org');
		const quoted = consumerFor('email', 'q.name@example.com');
		expect(enriched.map((row) => [row.name, row.email, row.segment, row.matched, row.factori_id, row.first_name, row.city])).toEqual([
			['Ann Example', 'Ann.Example@Example.com', 'a', 'TRUE', ann?.id, ann?.first_name, ann?.city],
			['Bob Example', 'bob.example@example.org', 'b', 'TRUE', bob?.id, bob?.first_name, bob?.city],
			['No Match', 'nomatch.csv@example.com', 'c', 'FALSE', '', '', ''],
			['Ann Again', 'ann.example@example.com', 'e', 'TRUE', ann?.id, ann?.first_name, ann?.city],
			['Quoted, Name', 'q.name@example.com', 'g "quoted"', 'TRUE', quoted?.id, quoted?.first_name, quoted?.city],
		]);
		expect(enriched[0].interests).toBe((ann?.interests as string[]).join('; '));
		expect(Object.keys(enriched[0])).not.toContain('consumer');

		const failed = parseCsv(await readFile(paths.failedFile, 'utf8'));
		expect(failed.map((row) => [row.name, row.email, row.segment])).toEqual([
			['Broken Row', 'not-an-email', 'd'],
			['Empty Email', '', 'f'],
		]);
		expect(failed[0].error).toMatch(/^Item 3: field 'identifier': .*no '@'/);
		expect(failed[1].error).toMatch(/^Item 5: field 'identifier': /);
		// Two rows name the same person: Factori is asked once.
		expect(sim.stats.identifiers.filter((identifier) => identifier.value === 'ann.example@example.com')).toHaveLength(1);
	});

	test('the usage example takes the Notify branch only above the threshold', async () => {
		const workflow = await importExample(n8n, 'usage', { credential, name: 'usage example (e2e)' });
		const notify = 'Notify (Slack, Email, ...)';

		sim.setQuota(ACCOUNT.username, { maxLimit: 1000, totalHits: 900, failedRequests: 0 });
		const high = await runManually(n8n.rest, workflow.id, 'Every Morning');

		expect(high.status).toBe('success');
		expect(outputOf(high, 'Factori Usage').map((item) => item.json)).toEqual([
			{ max_limit: 1000, usage_quota: 100, total_hits: 900, failed_requests: 0, percent_used: 90 },
		]);
		expect(outputOf(high, notify).map((item) => item.json.percent_used)).toEqual([90]);

		sim.setQuota(ACCOUNT.username, { totalHits: 100 });
		const low = await runManually(n8n.rest, workflow.id, 'Every Morning');

		expect(low.status).toBe('success');
		expect(outputOf(low, 'Quota Above Threshold?', 1).map((item) => item.json.percent_used)).toEqual([10]);
		expect(low.runData[notify]).toBeUndefined();

		const secrets = { password: ACCOUNT.password, ...tokensSeen(sim.stats.authorizations) };
		for (const run of [high, low]) expect(leaks(run.raw, secrets, { tokenShape: true })).toEqual([]);
		expect(leaks(await n8n.log(), secrets, { tokenShape: true })).toEqual([]);
	});
});
