/**
 * The webhook example (examples/webhook-enrich-contacts.json), published in a real n8n:
 * fifty contacts in one request, some malformed, some duplicates, some unknown to Factori.
 * The answer must hold one entry per contact, in the order sent, each the right one.
 */
import type { IdentifierType } from '../../nodes/Factori/transport/contract';
import { consumerFor, startSimulator, type Simulator } from '../../dev/simulator/server';
import { FACTORI_CREDENTIAL_TYPE } from '../../dev/examples';
import { execution, executionIds } from './support/executions';
import { leaks, tokensSeen } from './support/secrets';
import { SharedN8n } from './support/shared-n8n';
import { publishWebhookExample, type PublishedWebhook } from './support/workflows';

const ACCOUNT = { username: 'e2e-webhook-user', password: 'webhook-pass-e2e-1' };
const CUSTOM_UNMATCHED = 'custom.unmatched@example.com';

type Expected =
	| { kind: 'match' | 'no match'; type: IdentifierType; sent: string }
	| { kind: 'error'; says: RegExp };

type Contact = Record<string, unknown>;

const match = (type: IdentifierType, sent: string): Expected => ({ kind: 'match', type, sent });
const noMatch = (type: IdentifierType, sent: string): Expected => ({ kind: 'no match', type, sent });
const error = (says: RegExp): Expected => ({ kind: 'error', says });

/** Fifty contacts as a CRM export might hold them, each with what Factori should answer. */
function fiftyContacts(): Array<[Contact, Expected]> {
	const cases: Array<[Contact, Expected]> = [];
	for (let index = 0; index < 20; index++) {
		cases.push([{ email: `  Person.${index}@Example.COM ` }, match('email', `person.${index}@example.com`)]);
	}
	cases.push(
		[{ phone: '(555) 201-0001' }, match('phone', '+15552010001')],
		[{ phone: '555.201.0002' }, match('phone', '+15552010002')],
		[{ phone: '+1 555 201 0003' }, match('phone', '+15552010003')],
		[{ phone: '1-555-201-0004' }, match('phone', '+15552010004')],
		[{ phone: '5552010005' }, match('phone', '+15552010005')],
		[{ phone: '+15552010006' }, match('phone', '+15552010006')],
		[{ maid: '6F9619FF-8B86-D011-B42D-00CF4FC964F1' }, match('maid', '6f9619ff-8b86-d011-b42d-00cf4fc964f1')],
		[{ maid: '6f9619ff-8b86-d011-b42d-00cf4fc964f2' }, match('maid', '6f9619ff-8b86-d011-b42d-00cf4fc964f2')],
		[{ maid: 'A1B2C3D4-0000-4000-8000-000000000003' }, match('maid', 'a1b2c3d4-0000-4000-8000-000000000003')],
		[{ maid: 'a1b2c3d4-0000-4000-8000-000000000004' }, match('maid', 'a1b2c3d4-0000-4000-8000-000000000004')],
		// Duplicates of the above, written differently: looked up once, answered for each.
		[{ email: 'PERSON.3@example.com' }, match('email', 'person.3@example.com')],
		[{ email: 'person.3@EXAMPLE.COM' }, match('email', 'person.3@example.com')],
		[{ email: 'person.7@example.com' }, match('email', 'person.7@example.com')],
		[{ phone: '555-201-0001' }, match('phone', '+15552010001')],
		[{ phone: '(555) 201 0002' }, match('phone', '+15552010002')],
		[{ maid: '6f9619ff-8b86-d011-b42d-00cf4fc964f1' }, match('maid', '6f9619ff-8b86-d011-b42d-00cf4fc964f1')],
		// Unknown to Factori: a result, not an error.
		[{ email: 'nomatch.1@example.com' }, noMatch('email', 'nomatch.1@example.com')],
		[{ email: 'Someone-NoMatch@Example.com' }, noMatch('email', 'someone-nomatch@example.com')],
		[{ email: CUSTOM_UNMATCHED }, noMatch('email', CUSTOM_UNMATCHED)],
		[{ phone: '(555) 300-0000' }, noMatch('phone', '+15553000000')],
		[{ maid: 'FFFFFFFF-8B86-D011-B42D-00CF4FC964F1' }, noMatch('maid', 'ffffffff-8b86-d011-b42d-00cf4fc964f1')],
		[{ email: 'nomatch.1@example.com' }, noMatch('email', 'nomatch.1@example.com')],
		// Malformed: an error entry each, the others unaffected.
		[{ email: 'not-an-email' }, error(/no '@'/)],
		[{ email: 'two@@example.com' }, error(/'@'/)],
		[{ email: 'spaces in@example.com' }, error(/space/)],
		[{ email: '' }, error(/empty/)],
		[{ phone: '555-12' }, error(/5 digits/)],
		[{ maid: 'not-a-uuid' }, error(/hex digit/)],
		[{ name: 'No Identifier' }, error(/missing/)],
		[{ phone: '' }, error(/empty/)],
	);
	expect(cases).toHaveLength(50);
	// Mixed up, so that order matters: 7 and 50 share no factor, so this visits every case once.
	return cases.map((_, index) => cases[(index * 7) % cases.length]);
}

interface Entry {
	ref?: number;
	matched?: boolean;
	identifierType?: string;
	identifier?: string;
	consumer?: unknown;
	error?: string;
}

describe('the webhook example in n8n', () => {
	let n8n: SharedN8n;
	let sim: Simulator;
	let webhook: PublishedWebhook;

	beforeAll(async () => {
		sim = await startSimulator({ accounts: [ACCOUNT] });
		sim.markUnmatched('email', CUSTOM_UNMATCHED);
		n8n = await SharedN8n.open();
		const credential = await n8n.rest.createCredential('Factori (webhook test)', FACTORI_CREDENTIAL_TYPE, {
			username: ACCOUNT.username,
			password: ACCOUNT.password,
			baseUrl: sim.url,
		});
		webhook = await publishWebhookExample(n8n, credential, 'e2e-webhook-example');
	});

	afterAll(async () => {
		await sim?.stop();
	});

	test('50 contacts: one entry per contact, in order, with the right match or message', async () => {
		const cases = fiftyContacts();
		const contacts = cases.map(([contact], ref) => ({ ...contact, ref }));

		const answer = await webhook.post({ contacts });

		expect(answer.status).toBe(200);
		const entries = answer.body as Entry[];
		expect(entries).toHaveLength(50);
		cases.forEach(([, expected], index) => {
			const entry = entries[index];
			if (expected.kind === 'error') {
				expect({ index, keys: Object.keys(entry) }).toEqual({ index, keys: ['error'] });
				expect(entry.error).toMatch(new RegExp(`^Item ${index}: field 'identifier': `));
				expect({ index, error: entry.error }).toEqual({ index, error: expect.stringMatching(expected.says) });
				return;
			}
			expect({ index, ref: entry.ref, matched: entry.matched, type: entry.identifierType, sent: entry.identifier }).toEqual({
				index,
				ref: index,
				matched: expected.kind === 'match',
				type: expected.type,
				sent: expected.sent,
			});
			expect({ index, consumer: entry.consumer }).toEqual({
				index,
				consumer: expected.kind === 'match' ? consumerFor(expected.type, expected.sent) : null,
			});
		});

		// Each distinct identifier went to Factori once; malformed ones never left n8n.
		const distinct = new Set(cases.flatMap(([, expected]) => (expected.kind === 'error' ? [] : [`${expected.type}:${expected.sent}`])));
		expect(sim.stats.identifiers.map(({ type, value }) => `${type}:${value}`).sort()).toEqual([...distinct].sort());
		expect(sim.stats.calls('/consumer/data', 429)).toBe(0);
	});

	test('a plain JSON array of contacts is answered the same way', async () => {
		const contacts = [{ email: 'Person.1@example.com', crm: 'a' }, { phone: '555-12', crm: 'b' }, { email: 'nomatch.9@example.com', crm: 'c' }];

		const answer = await webhook.post(contacts);

		expect(answer.status).toBe(200);
		const entries = answer.body as Entry[];
		expect(entries.map((entry) => entry.error ?? entry.matched)).toEqual([true, expect.stringMatching(/^Item 1: /), false]);
		expect(entries[0]).toMatchObject({ crm: 'a', identifier: 'person.1@example.com', consumer: consumerFor('email', 'person.1@example.com') });
		expect(entries[2]).toMatchObject({ crm: 'c', consumer: null });
	});

	test('an empty list gets an empty answer and costs no lookup', async () => {
		const lookups = sim.stats.calls('/consumer/data');

		const answer = await webhook.post({ contacts: [] });

		expect(answer).toEqual({ status: 200, body: '' });
		expect(sim.stats.calls('/consumer/data')).toBe(lookups);
	});

	test('the executions hold the contacts but no password or token', async () => {
		const secrets = { password: ACCOUNT.password, ...tokensSeen(sim.stats.authorizations) };
		expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(2);

		const ids = await executionIds(n8n.rest, webhook.workflow.id);
		expect(ids).toHaveLength(3);
		const runs = await Promise.all(ids.map(async (id) => await execution(n8n.rest, id)));
		// Newest first: the empty list, then the two requests with contacts.
		for (const run of runs.slice(1)) expect(run.raw).toContain('person.1@example.com');
		for (const run of runs) expect(leaks(run.raw, secrets, { tokenShape: true })).toEqual([]);
		const database = await n8n.databaseBytes();
		expect(database).toContain(CUSTOM_UNMATCHED);
		expect(leaks(database, secrets)).toEqual([]);
		expect(leaks(await n8n.log(), secrets, { tokenShape: true })).toEqual([]);
	});
});
