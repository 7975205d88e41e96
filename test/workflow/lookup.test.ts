/**
 * The lookup operation through whole workflows run by n8n-core against the simulator: what a
 * user sees on the node's outputs, and what reached Factori.
 */
import { createHash } from 'node:crypto';
import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IRun,
} from 'n8n-workflow';

import { consumerFor, type Simulator } from '../../dev/simulator/server';
import { PATHS, ZERO_MAID, type IdentifierType } from '../../nodes/Factori/transport/contract';
import { useSimulator } from '../support/simulator-fixture';
import { CredentialStore, NodeTypes, errorOf, factoriNode, outputOf, runWorkflow } from '../support/n8n-harness';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const HASH = { sha256, md5 } as const;

type OnError = 'stopWorkflow' | 'continueRegularOutput' | 'continueErrorOutput';

/** One input item of a batch and what the node should make of it. */
type Case =
	| { json: IDataObject; type: IdentifierType; sent: string; matched: boolean }
	| { json: IDataObject; problem: RegExp };

const isGood = (entry: Case): entry is Extract<Case, { sent: string }> => 'sent' in entry;

/**
 * Good, bad, duplicate and unmatched items of all three kinds, in one batch. The simulator
 * finds no one for emails containing `nomatch`, phones ending 0000 and MAIDs starting ffffffff.
 */
const MIXED: Case[] = [
	{ json: { type: 'email', value: ' Alice@Example.COM ' }, type: 'email', sent: 'alice@example.com', matched: true },
	{ json: { type: 'email', value: 'alice.example.com' }, problem: /has no '@'/ },
	{ json: { type: 'phone', value: '(555) 123-4567' }, type: 'phone', sent: '+15551234567', matched: true },
	{ json: { type: 'phone', value: '555-1234' }, problem: /has 7 digits; a US number has 10/ },
	{ json: { type: 'maid', value: ZERO_MAID }, problem: /is all zeros/ },
	{ json: { type: 'email' }, problem: /email is missing/ },
	{ json: { type: 'phone', value: '' }, problem: /phone is empty/ },
	{ json: { type: 'email', value: 42 }, problem: /email is a number \(42\), not text/ },
	{ json: { type: 'email', value: 'ALICE@example.com' }, type: 'email', sent: 'alice@example.com', matched: true },
	{
		json: { type: 'email', value: 'carol.nomatch@example.com' },
		type: 'email',
		sent: 'carol.nomatch@example.com',
		matched: false,
	},
	{ json: { type: 'phone', value: '212-555-0000' }, type: 'phone', sent: '+12125550000', matched: false },
	{
		json: { type: 'maid', value: 'FFFFFFFF-AAAA-4BBB-8CCC-DDDDDDDDDDDD' },
		type: 'maid',
		sent: 'ffffffff-aaaa-4bbb-8ccc-dddddddddddd',
		matched: false,
	},
	{
		json: { type: 'maid', value: '6F9619FF-8B86-D011-B42D-00CF4FC964FF' },
		type: 'maid',
		sent: '6f9619ff-8b86-d011-b42d-00cf4fc964ff',
		matched: true,
	},
	{ json: { type: 'phone', value: '+1 555.123.4567' }, type: 'phone', sent: '+15551234567', matched: true },
];

/** The identifiers the batch should send, once each. */
const distinct = (cases: Case[]) => [...new Set(cases.filter(isGood).map((entry) => `${entry.type}:${entry.sent}`))].sort();

const fromItems = { identifierType: '={{ $json.type }}', identifier: '={{ $json.value }}' };

let sim: Simulator;
let accountCount = 0;

useSimulator({ latencyMs: 0 }, (started) => (sim = started));

/** A fresh simulator account and the credential store holding it (pacer and login cache are per user). */
function account(): { username: string; password: string; store: CredentialStore } {
	const username = `lookup-user-${++accountCount}`;
	const password = `own-password-${accountCount}-x`;
	sim.addAccount({ username, password });
	const store = new CredentialStore(() => undefined);
	store.put('cred-1', { username, password, baseUrl: sim.url });
	return { username, password, store };
}

async function lookup(
	store: CredentialStore,
	input: IDataObject[],
	parameters: INode['parameters'] = {},
	onError: OnError = 'stopWorkflow',
): Promise<IRun> {
	const extra: Partial<INode> = onError === 'stopWorkflow' ? {} : { onError };
	return await runWorkflow({
		nodes: [factoriNode({ resource: 'consumer', operation: 'lookup', ...fromItems, ...parameters }, extra)],
		input: input.map((json) => ({ json })),
		store,
	});
}

/** What the simulator received, as sorted `type:value` strings. */
const received = () => sim.stats.identifiers.map(({ type, value }) => `${type}:${value}`).sort();

const pairedIndex = (item: INodeExecutionData) => (item.pairedItem as { item: number }).item;

function expectResult(item: INodeExecutionData, entry: Case, index: number) {
	expect(item.pairedItem).toEqual({ item: index });
	if (isGood(entry)) {
		const consumer = consumerFor(entry.type, entry.sent);
		expect(consumer !== null).toBe(entry.matched);
		expect(item.error).toBeUndefined();
		expect(item.json).toEqual({ matched: entry.matched, identifierType: entry.type, identifier: entry.sent, consumer });
		return;
	}
	const message = item.json.error as string;
	expect(Object.keys(item.json)).toEqual(['error']);
	expect(message).toMatch(new RegExp(`^Item ${index}: field 'identifier': `));
	expect(message).toMatch(entry.problem);
	expect(item.error?.message).toBe(message);
	expect(item.error?.context.itemIndex).toBe(index);
}

describe('a mixed batch of good, bad, duplicate and unmatched items', () => {
	test('On Error "Stop Workflow": the node fails with the first bad item\'s message, before any lookup', async () => {
		const { store } = account();
		const run = await lookup(store, MIXED.map((entry) => entry.json));

		const firstBad = MIXED.findIndex((entry) => !isGood(entry));
		expect(firstBad).toBe(1);
		const error = errorOf(run, 'Factori');
		expect(error?.message).toMatch(/^Item 1: field 'identifier': The email 'alice\.example\.com' has no '@'/);
		expect(run.data.resultData.error?.message).toBe(error?.message);
		expect(outputOf(run, 'Factori', 0)).toEqual([]);
		expect(sim.stats.calls(PATHS.consumerData)).toBe(0);
		expect(sim.stats.identifiers).toEqual([]);
	});

	test('On Error "Continue": every item comes out on the main output, in input order, paired to its input', async () => {
		const { store } = account();
		const run = await lookup(store, MIXED.map((entry) => entry.json), {}, 'continueRegularOutput');

		expect(errorOf(run, 'Factori')).toBeUndefined();
		const main = outputOf(run, 'Factori', 0);
		expect(main).toHaveLength(MIXED.length);
		main.forEach((item, index) => expectResult(item, MIXED[index], index));
		expect(outputOf(run, 'Factori', 1)).toEqual([]);
		expect(received()).toEqual(distinct(MIXED));
	});

	test('On Error "Continue (using error output)": results on the main output, failures on the error output', async () => {
		const { store } = account();
		const run = await lookup(store, MIXED.map((entry) => entry.json), {}, 'continueErrorOutput');

		expect(errorOf(run, 'Factori')).toBeUndefined();
		const main = outputOf(run, 'Factori', 0);
		const errors = outputOf(run, 'Factori', 1);
		const goodIndexes = MIXED.flatMap((entry, index) => (isGood(entry) ? [index] : []));
		const badIndexes = MIXED.flatMap((entry, index) => (isGood(entry) ? [] : [index]));
		expect(main.map(pairedIndex)).toEqual(goodIndexes);
		expect(errors.map(pairedIndex)).toEqual(badIndexes);
		for (const item of [...main, ...errors]) expectResult(item, MIXED[pairedIndex(item)], pairedIndex(item));
		// Exactly one output item per input item, over both outputs.
		expect([...main, ...errors].map(pairedIndex).sort((a, b) => a - b)).toEqual(MIXED.map((_entry, index) => index));
		expect(received()).toEqual(distinct(MIXED));
	});

	describe('an expression that fails for one item', () => {
		// A fallback to a node that was renamed: n8n throws for the items that need it.
		const parameters = { identifierType: 'email', identifier: "={{ $json.email ?? $('Contacts').item.json.email }}" };
		const input = [{ email: 'one@example.com' }, { name: 'No Email' }, { email: 'two@example.com' }];

		test.each(['continueRegularOutput', 'continueErrorOutput'] as const)(
			'fails that item alone under %s',
			async (onError) => {
				const { store } = account();
				const run = await lookup(store, input, parameters, onError);

				expect(errorOf(run, 'Factori')).toBeUndefined();
				const main = outputOf(run, 'Factori', 0);
				const failed = onError === 'continueErrorOutput' ? outputOf(run, 'Factori', 1) : main.filter((item) => item.error);
				const succeeded = main.filter((item) => !item.error);
				expect(succeeded.map(pairedIndex)).toEqual([0, 2]);
				expect(succeeded.map((item) => item.json.identifier)).toEqual(['one@example.com', 'two@example.com']);
				expect(failed.map(pairedIndex)).toEqual([1]);
				expect(failed[0].json.error).toMatch(/^Item 1: field 'identifier': .*Referenced node doesn't exist/);
				expect(received()).toEqual(['email:one@example.com', 'email:two@example.com']);
			},
		);

		test('stops the node before any lookup under "Stop Workflow"', async () => {
			const { store } = account();
			const run = await lookup(store, input, parameters);

			expect(errorOf(run, 'Factori')?.message).toMatch(/^Item 1: field 'identifier': .*Referenced node doesn't exist/);
			expect(sim.stats.calls(PATHS.consumerData)).toBe(0);
		});
	});

	test('a batch that is all good succeeds under "Stop Workflow" too', async () => {
		const { store } = account();
		const good = MIXED.filter(isGood);
		const run = await lookup(store, good.map((entry) => entry.json));

		expect(errorOf(run, 'Factori')).toBeUndefined();
		const main = outputOf(run, 'Factori', 0);
		expect(main).toHaveLength(good.length);
		main.forEach((item, index) => expectResult(item, good[index], index));
	});
});

describe('what reaches Factori', () => {
	const good = MIXED.filter(isGood);

	test('normalized values, one call per distinct identifier', async () => {
		const { store } = account();
		await lookup(store, good.map((entry) => entry.json));

		expect(received()).toEqual(
			[
				'email:alice@example.com',
				'email:carol.nomatch@example.com',
				'maid:6f9619ff-8b86-d011-b42d-00cf4fc964ff',
				'maid:ffffffff-aaaa-4bbb-8ccc-dddddddddddd',
				'phone:+12125550000',
				'phone:+15551234567',
			].sort(),
		);
		expect(sim.stats.calls(PATHS.consumerData)).toBe(6);
	});

	test('with Deduplicate off, one call per item', async () => {
		const { store } = account();
		const run = await lookup(store, good.map((entry) => entry.json), { options: { deduplicate: false } });

		expect(received()).toEqual(good.map((entry) => `${entry.type}:${entry.sent}`).sort());
		expect(sim.stats.calls(PATHS.consumerData)).toBe(good.length);
		outputOf(run, 'Factori', 0).forEach((item, index) => expectResult(item, good[index], index));
	});

	test.each(['sha256', 'md5'] as const)(
		'with Hash Before Sending %s, only hashes leave n8n, and the output shows the hash',
		async (algorithm) => {
			const { store } = account();
			sim.markUnmatched('email', 'dave@example.com');
			const cases: Array<{ json: IDataObject; type: IdentifierType; normalized: string; matched: boolean }> = [
				{ json: { type: 'email', value: ' Alice@Example.COM ' }, type: 'email', normalized: 'alice@example.com', matched: true },
				{ json: { type: 'phone', value: '(555) 123-4567' }, type: 'phone', normalized: '+15551234567', matched: true },
				{
					json: { type: 'maid', value: '6F9619FF-8B86-D011-B42D-00CF4FC964FF' },
					type: 'maid',
					normalized: '6f9619ff-8b86-d011-b42d-00cf4fc964ff',
					matched: true,
				},
				{ json: { type: 'email', value: 'Dave@example.com' }, type: 'email', normalized: 'dave@example.com', matched: false },
				{ json: { type: 'email', value: 'alice@example.com' }, type: 'email', normalized: 'alice@example.com', matched: true },
			];
			const run = await lookup(store, cases.map((entry) => entry.json), { options: { hashBeforeSending: algorithm } });

			const shape = algorithm === 'sha256' ? /^[0-9a-f]{64}$/ : /^[0-9a-f]{32}$/;
			expect(sim.stats.identifiers).toHaveLength(4);
			for (const { value } of sim.stats.identifiers) expect(value).toMatch(shape);
			expect(received()).toEqual(
				[...new Set(cases.map((entry) => `${entry.type}:${HASH[algorithm](entry.normalized)}`))].sort(),
			);

			const main = outputOf(run, 'Factori', 0);
			expect(main).toHaveLength(cases.length);
			main.forEach((item, index) => {
				const entry = cases[index];
				const hash = HASH[algorithm](entry.normalized);
				expect(item.pairedItem).toEqual({ item: index });
				expect(item.json).toEqual({
					matched: entry.matched,
					identifierType: entry.type,
					identifier: hash,
					consumer: entry.matched ? consumerFor(entry.type, hash) : null,
				});
			});
			const shown = JSON.stringify(main);
			for (const entry of cases) {
				expect(shown).not.toContain(entry.normalized);
				expect(shown).not.toContain(String(entry.json.value));
			}
		},
	);

	test.each(['sha256', 'md5'] as const)(
		'with Identifier Format %s, the hash given is sent as it is, lowercased',
		async (format) => {
			const { store } = account();
			const hash = HASH[format]('alice@example.com');
			const input = [
				{ value: ` ${hash.toUpperCase()} ` },
				{ value: hash },
				{ value: 'alice@example.com' },
				{ value: hash.slice(1) },
			];
			const run = await lookup(
				store,
				input,
				{ identifierType: 'email', identifierFormat: format, options: { hashBeforeSending: format } },
				'continueRegularOutput',
			);

			expect(received()).toEqual([`email:${hash}`]);
			const main = outputOf(run, 'Factori', 0);
			expect(main.map(pairedIndex)).toEqual([0, 1, 2, 3]);
			const consumer = consumerFor('email', hash);
			expect(consumer).not.toBeNull();
			for (const item of main.slice(0, 2)) {
				expect(item.json).toEqual({ matched: true, identifierType: 'email', identifier: hash, consumer });
			}
			expect(main[2].json.error).toMatch(/^Item 2: field 'identifier': .*has \d+ characters/);
			expect(main[3].json.error).toMatch(
				new RegExp(`^Item 3: field 'identifier': .*has ${hash.length - 1} characters`),
			);
		},
	);
});

test('Phone Format sends a raw phone in the chosen form: the simulator, which takes E.164 alone, refuses another', async () => {
	const { store } = account();
	const input = [
		{ type: 'phone', value: '(555) 123-4567' },
		{ type: 'email', value: 'Alice@Example.com' },
	];

	const run = await lookup(store, input, { options: { phoneFormat: 'countryCode' } }, 'continueRegularOutput');

	expect(received()).toEqual(['email:alice@example.com', 'phone:15551234567']);
	const main = outputOf(run, 'Factori', 0);
	expect(main.map(pairedIndex)).toEqual([0, 1]);
	expect(main[0].json.error).toMatch(/^Item 0: Factori rejected the phone '15551234567': phone must be E\.164 with country code \+1/);
	expect(main[1].json).toMatchObject({ matched: true, identifierType: 'email', identifier: 'alice@example.com' });
});

test('Include Input Fields puts the result beside the input item\'s fields', async () => {
	const { store } = account();
	const input = [
		{ id: 7, name: 'Alice', email: ' Alice@Example.COM ', tags: ['a', 'b'] },
		{ id: 8, name: 'Carol', email: 'carol.nomatch@example.com' },
	];
	const run = await lookup(store, input, {
		identifierType: 'email',
		identifier: '={{ $json.email }}',
		options: { includeInputFields: true },
	});

	const main = outputOf(run, 'Factori', 0);
	expect(main.map((item) => item.json)).toEqual([
		{
			...input[0],
			matched: true,
			identifierType: 'email',
			identifier: 'alice@example.com',
			consumer: consumerFor('email', 'alice@example.com'),
		},
		{ ...input[1], matched: false, identifierType: 'email', identifier: 'carol.nomatch@example.com', consumer: null },
	]);
	expect(main.map(pairedIndex)).toEqual([0, 1]);
});

describe('an API error for one lookup', () => {
	const input = [
		{ value: 'first@example.com' },
		{ value: 'second@example.com' },
		{ value: 'third@example.com' },
		{ value: 'First@Example.com' },
	];
	const sent = ['first@example.com', 'second@example.com', 'third@example.com', 'first@example.com'];

	test.each([
		{ status: 400, body: { status: 'error', message: 'email is on a suppression list' }, says: /rejected the email/ },
		{ status: 403, body: { status: 'error', message: 'Forbidden for this contract' }, says: /answered 403/ },
	])('a $status fails only the items of that identifier; the others are unaffected', async ({ status, body, says }) => {
		const { store } = account();
		sim.injectFault({ path: PATHS.consumerData, status, body });
		const run = await lookup(store, input, { identifierType: 'email' }, 'continueErrorOutput');

		// The fault answers whichever call arrives first; the items carrying that identifier fail.
		expect(sim.stats.identifiers).toHaveLength(3);
		const faulted = sim.stats.identifiers[0].value;
		const failing = sent.flatMap((value, index) => (value === faulted ? [index] : []));
		const passing = sent.flatMap((value, index) => (value === faulted ? [] : [index]));
		expect(failing.length).toBeGreaterThan(0);

		const main = outputOf(run, 'Factori', 0);
		const errors = outputOf(run, 'Factori', 1);
		expect(main.map(pairedIndex)).toEqual(passing);
		expect(errors.map(pairedIndex)).toEqual(failing);
		for (const item of main) {
			const value = sent[pairedIndex(item)];
			expect(item.json).toEqual({
				matched: true,
				identifierType: 'email',
				identifier: value,
				consumer: consumerFor('email', value),
			});
		}
		for (const item of errors) {
			// The message names the item, what went wrong and Factori's reason.
			expect(item.json.error).toMatch(new RegExp(`^Item ${pairedIndex(item)}: `));
			expect(item.json.error).toMatch(says);
			expect(item.json.error).toContain(body.message);
			expect(item.error?.context.itemIndex).toBe(pairedIndex(item));
		}
		expect(sim.stats.calls(PATHS.consumerData, status)).toBe(1);
	});

	test('under "Stop Workflow" the node fails with the API error', async () => {
		const { store } = account();
		sim.injectFault({ path: PATHS.consumerData, status: 403 });
		const run = await lookup(store, input, { identifierType: 'email' });

		expect(errorOf(run, 'Factori')?.message).toMatch(/answered 403/);
		expect(outputOf(run, 'Factori', 0)).toEqual([]);
	});

	test('a server error is retried up to Max Attempts; with one attempt it fails that item alone', async () => {
		const { store } = account();
		sim.injectFault({ path: PATHS.consumerData, status: 503 });
		const retried = await lookup(store, input, { identifierType: 'email' }, 'continueErrorOutput');
		expect(outputOf(retried, 'Factori', 0).map(pairedIndex)).toEqual([0, 1, 2, 3]);
		expect(outputOf(retried, 'Factori', 1)).toEqual([]);
		expect(sim.stats.calls(PATHS.consumerData)).toBe(4);

		sim.resetStats();
		sim.injectFault({ path: PATHS.consumerData, status: 503 });
		const once = await lookup(
			store,
			input,
			{ identifierType: 'email', options: { maxAttempts: 1 } },
			'continueErrorOutput',
		);
		const faulted = sim.stats.identifiers[0].value;
		expect(outputOf(once, 'Factori', 1).map(pairedIndex)).toEqual(
			sent.flatMap((value, index) => (value === faulted ? [index] : [])),
		);
		expect(outputOf(once, 'Factori', 0).map(pairedIndex)).toEqual(
			sent.flatMap((value, index) => (value === faulted ? [] : [index])),
		);
		expect(sim.stats.calls(PATHS.consumerData)).toBe(3);
	});
});

describe('secrets', () => {
	test('no password, temporary password or token appears anywhere in the run data', async () => {
		const username = `lookup-user-${++accountCount}`;
		const temporaryPassword = 'issued-temporary-secret-1';
		const password = 'chosen-own-secret-22';
		sim.addAccount({ username, temporaryPassword });
		const store = new CredentialStore(() => undefined);
		store.put('cred-1', { username, password, temporaryPassword, baseUrl: sim.url });
		const batch = MIXED.map((entry) => entry.json);

		const runs: IRun[] = [];
		// First use: reset, log in, look up; one call answered 403.
		sim.injectFault({ path: PATHS.consumerData, status: 403 });
		runs.push(await lookup(store, batch, {}, 'continueRegularOutput'));
		// Tokens expired: n8n logs in again through the credential.
		sim.expireTokens(username);
		runs.push(await lookup(store, batch, {}, 'continueErrorOutput'));
		// A token refused even right after a fresh login.
		sim.injectFault({ path: PATHS.consumerData, status: 401, times: 2 });
		runs.push(await lookup(store, [{ type: 'email', value: 'zed@example.com' }], {}, 'continueRegularOutput'));
		// Stopped by a failure.
		runs.push(await lookup(store, batch));
		runs.push(
			await runWorkflow({ nodes: [factoriNode({ resource: 'usage', operation: 'get' })], input: [{ json: {} }], store }),
		);

		expect(sim.stats.resets[username]).toBe(1);
		expect(sim.stats.logins[username]).toBeGreaterThanOrEqual(2);
		expect(outputOf(runs[2], 'Factori', 0)[0].json.error).toMatch(/refused the token/);
		const tokens = [...new Set(sim.stats.authorizations.map((value) => value.replace(/^Bearer /, '')))];
		expect(tokens.length).toBeGreaterThanOrEqual(2);
		const secrets = [password, temporaryPassword, ...tokens, ...sim.stats.authorizations];
		for (const run of runs) {
			const text = JSON.stringify(run);
			for (const secret of secrets) expect(text).not.toContain(secret);
		}
	});

	test('a login that fails shows neither password in its message', async () => {
		const username = `lookup-user-${++accountCount}`;
		sim.addAccount({ username, password: 'the-real-password-1' });
		const store = new CredentialStore(() => undefined);
		const wrong = 'a-wrong-password-2';
		const temporaryPassword = 'a-wrong-temporary-3';
		store.put('cred-1', { username, password: wrong, temporaryPassword, baseUrl: sim.url });

		const run = await lookup(store, [{ type: 'email', value: 'zed@example.com' }], {}, 'continueRegularOutput');

		const [item] = outputOf(run, 'Factori', 0);
		expect(item.json.error).toMatch(/log in/);
		expect(sim.stats.calls(PATHS.consumerData)).toBe(0);
		const text = JSON.stringify(run);
		for (const secret of [wrong, temporaryPassword, 'the-real-password-1']) expect(text).not.toContain(secret);
	});
});

/** Copies its input and adds `tag`, read per item: a stand-in for the nodes around Factori. */
class Tag implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Tag',
		name: 'tag',
		group: ['transform'],
		version: 1,
		description: 'Adds a tag to every item',
		defaults: { name: 'Tag' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Tag', name: 'tag', type: 'string', default: '' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [
			this.getInputData().map((item, index) => ({
				json: { ...item.json, tag: this.getNodeParameter('tag', index) as string },
				pairedItem: { item: index },
			})),
		];
	}
}

test('nodes after Factori find each result\'s input item through n8n\'s item pairing, on both outputs', async () => {
	const { store } = account();
	const tagNode = (name: string, tag: string): INode => ({
		id: name,
		name,
		type: 'test.tag',
		typeVersion: 1,
		position: [0, 0],
		parameters: { tag },
	});
	const backToSource = "={{ $('Source').item.json.id }}";
	const run = await runWorkflow({
		nodes: [
			tagNode('Source', 'read'),
			factoriNode(
				{ resource: 'consumer', operation: 'lookup', identifierType: 'email', identifier: '={{ $json.email }}' },
				{ onError: 'continueErrorOutput' },
			),
			tagNode('Results', backToSource),
			tagNode('Failures', backToSource),
		],
		connections: {
			Source: { main: [[{ node: 'Factori', type: NodeConnectionTypes.Main, index: 0 }]] },
			Factori: {
				main: [
					[{ node: 'Results', type: NodeConnectionTypes.Main, index: 0 }],
					[{ node: 'Failures', type: NodeConnectionTypes.Main, index: 0 }],
				],
			},
		},
		input: [
			{ json: { id: 'a', email: 'one@example.com' } },
			{ json: { id: 'b', email: 'one at example.com' } },
			{ json: { id: 'c', email: 'two@example.com' } },
			{ json: { id: 'd', email: 'ONE@example.com' } },
		],
		nodeTypes: new NodeTypes({ 'test.tag': new Tag() }),
		store,
	});

	expect(run.data.resultData.error).toBeUndefined();
	const results = outputOf(run, 'Results', 0);
	expect(results.map((item) => item.json.tag)).toEqual(['a', 'c', 'd']);
	expect(results.map((item) => item.json.identifier)).toEqual(['one@example.com', 'two@example.com', 'one@example.com']);
	const failures = outputOf(run, 'Failures', 0);
	expect(failures).toHaveLength(1);
	expect(failures[0].json.tag).toBe('b');
	expect(failures[0].json.error).toMatch(/^Item 1: field 'identifier': The email 'one at example\.com' contains a space/);
	expect(received()).toEqual(['email:one@example.com', 'email:two@example.com']);
});
