/**
 * The names that saved workflows, shared credentials and examples depend on
 * (node-interface.md): node type, parameters, option values, defaults, credential fields.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
	NodeConnectionTypes,
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IHttpRequestOptions,
	type INode,
	type INodeProperties,
	type INodePropertyCollection,
	type INodePropertyOptions,
	type INodeTypes,
} from 'n8n-workflow';

import { FactoriApi } from '../../credentials/FactoriApi.credentials';
import { Factori } from '../../nodes/Factori/Factori.node';
import {
	DEFAULT_BASE_URL,
	DEFAULT_PHONE_FORMAT,
	DEFAULT_RATE_LIMIT,
	DEFAULT_RATE_LIMIT_PERIOD,
	DEFAULT_TOKEN_TYPE,
	PATHS,
	PHONE_FORMATS,
} from '../../nodes/Factori/transport/contract';
import { DEFAULT_RETRY } from '../../nodes/Factori/transport/retry';

const root = join(__dirname, '..', '..');
const nodeDir = join(root, 'nodes', 'Factori');
const credentialDir = join(root, 'credentials');

const node = new Factori();
const { description } = node;
const credential = new FactoriApi();

const named = (properties: INodeProperties[], name: string): INodeProperties[] =>
	properties.filter((property) => property.name === name);

function one(properties: INodeProperties[], name: string): INodeProperties {
	const found = named(properties, name);
	expect(found).toHaveLength(1);
	return found[0];
}

const values = (property: INodeProperties | INodePropertyOptions | INodePropertyCollection) =>
	((property as INodeProperties).options as INodePropertyOptions[]).map((option) => option.value);

/** The file an icon reference (`file:<path>`) points at, relative to the class's own folder. */
function iconFile(reference: unknown, folder: string): string {
	expect(typeof reference).toBe('string');
	const text = reference as string;
	expect(text.startsWith('file:')).toBe(true);
	return join(folder, text.slice('file:'.length));
}

function expectSvg(path: string) {
	expect(existsSync(path)).toBe(true);
	expect(path.endsWith('.svg')).toBe(true);
	expect(readFileSync(path, 'utf8')).toMatch(/<svg[\s>]/);
}

/** The parameters n8n gives a node the user has just added, with `set` chosen. */
function parametersOf(set: INode['parameters']) {
	const added: Pick<INode, 'typeVersion'> = { typeVersion: 1 };
	return NodeHelpers.getNodeParameters(description.properties, set, true, false, added, description);
}

describe('node type factori', () => {
	test('type, name, version, tool use, connections and credential', () => {
		expect(description.name).toBe('factori');
		expect(description.displayName).toBe('Factori');
		expect(description.version).toBe(1);
		expect(description.defaults.name).toBe('Factori');
		expect(description.usableAsTool).toBe(true);
		expect(description.inputs).toEqual([NodeConnectionTypes.Main]);
		expect(description.outputs).toEqual([NodeConnectionTypes.Main]);
		expect(description.credentials).toEqual([{ name: 'factoriApi', required: true }]);
	});

	test('light and dark icons are SVG files beside the node', () => {
		const icon = description.icon as { light: string; dark: string };
		expect(Object.keys(icon).sort()).toEqual(['dark', 'light']);
		expectSvg(iconFile(icon.light, nodeDir));
		expectSvg(iconFile(icon.dark, nodeDir));
		expect(icon.light).not.toBe(icon.dark);
	});

	test('the subtitle shows the operation and resource chosen', () => {
		const nodeTypes: INodeTypes = {
			getByName: () => node,
			getByNameAndVersion: () => node,
			getKnownTypes: () => ({}),
		};
		const subtitleOf = (parameters: INode['parameters']) => {
			const instance: INode = {
				id: 'n',
				name: 'Factori',
				type: 'n8n-nodes-factori.factori',
				typeVersion: 1,
				position: [0, 0],
				parameters,
			};
			const workflow = new Workflow({ nodes: [instance], connections: {}, active: false, nodeTypes });
			return workflow.expression.getSimpleParameterValue(instance, description.subtitle, 'internal', {});
		};
		expect(subtitleOf({ resource: 'consumer', operation: 'lookup' })).toBe('lookup: consumer');
		expect(subtitleOf({ resource: 'usage', operation: 'get' })).toBe('get: usage');
	});

	test('its top-level parameters are exactly the public ones', () => {
		expect([...new Set(description.properties.map((property) => property.name))].sort()).toEqual(
			['identifier', 'identifierFormat', 'identifierType', 'operation', 'options', 'resource'].sort(),
		);
	});

	test('resource: consumer or usage; operations: lookup and get', () => {
		const resource = one(description.properties, 'resource');
		expect(resource.type).toBe('options');
		expect(values(resource)).toEqual(['consumer', 'usage']);
		expect(resource.default).toBe('consumer');

		const operations = named(description.properties, 'operation');
		expect(operations).toHaveLength(2);
		const forResource = (name: string) =>
			operations.filter((operation) => operation.displayOptions?.show?.resource?.includes(name));
		expect(forResource('consumer').map(values)).toEqual([['lookup']]);
		expect(forResource('consumer')[0].default).toBe('lookup');
		expect(forResource('usage').map(values)).toEqual([['get']]);
		expect(forResource('usage')[0].default).toBe('get');
		for (const operation of operations) expect(operation.type).toBe('options');
	});

	test('the lookup parameters, their values and defaults', () => {
		const identifierType = one(description.properties, 'identifierType');
		expect(identifierType.type).toBe('options');
		expect([...values(identifierType)].sort()).toEqual(['email', 'maid', 'phone']);

		const identifier = one(description.properties, 'identifier');
		expect(identifier.type).toBe('string');
		expect(identifier.default).toBe('');

		const identifierFormat = one(description.properties, 'identifierFormat');
		expect(identifierFormat.type).toBe('options');
		expect([...values(identifierFormat)].sort()).toEqual(['md5', 'raw', 'sha256']);
		expect(identifierFormat.default).toBe('raw');

		for (const property of [identifierType, identifier, identifierFormat, one(description.properties, 'options')]) {
			expect(property.displayOptions).toEqual({ show: { resource: ['consumer'], operation: ['lookup'] } });
		}
	});

	test('the lookup options, their values and defaults', () => {
		const options = one(description.properties, 'options');
		expect(options.type).toBe('collection');
		expect(options.default).toEqual({});
		const inside = options.options as INodeProperties[];
		expect(inside.map((option) => option.name)).toEqual(
			expect.arrayContaining(['hashBeforeSending', 'includeInputFields', 'deduplicate', 'maxAttempts']),
		);

		const hashBeforeSending = one(inside, 'hashBeforeSending');
		expect(hashBeforeSending.type).toBe('options');
		expect([...values(hashBeforeSending)].sort()).toEqual(['md5', 'none', 'sha256']);
		expect(hashBeforeSending.default).toBe('none');

		const includeInputFields = one(inside, 'includeInputFields');
		expect(includeInputFields.type).toBe('boolean');
		expect(includeInputFields.default).toBe(false);

		const deduplicate = one(inside, 'deduplicate');
		expect(deduplicate.type).toBe('boolean');
		expect(deduplicate.default).toBe(true);

		const maxAttempts = one(inside, 'maxAttempts');
		expect(maxAttempts.type).toBe('number');
		expect(maxAttempts.default).toBe(DEFAULT_RETRY.maxAttempts);

		const phoneFormat = one(inside, 'phoneFormat');
		expect(phoneFormat.type).toBe('options');
		expect([...values(phoneFormat)].sort()).toEqual([...PHONE_FORMATS].sort());
		expect(phoneFormat.default).toBe(DEFAULT_PHONE_FORMAT);
		expect(phoneFormat.displayOptions).toEqual({ show: { '/identifierType': ['phone'] } });
	});

	test('a node just added gets the public defaults, for each resource', () => {
		expect(parametersOf({})).toEqual({
			resource: 'consumer',
			operation: 'lookup',
			identifierType: 'email',
			identifier: '',
			identifierFormat: 'raw',
			options: {},
		});
		expect(parametersOf({ resource: 'usage' })).toEqual({ resource: 'usage', operation: 'get' });
	});
});

describe('credential type factoriApi', () => {
	test('type, name, icons and test request', () => {
		expect(credential.name).toBe('factoriApi');
		expect(credential.displayName).toBe('Factori API');
		expect(description.credentials?.[0].name).toBe(credential.name);

		const icon = credential.icon as { light: string; dark: string };
		expectSvg(iconFile(icon.light, credentialDir));
		expectSvg(iconFile(icon.dark, credentialDir));

		expect(credential.test.request.url).toBe(PATHS.usage);
		expect(credential.test.request.method ?? 'GET').toBe('GET');
	});

	test('authenticate sends the long token as a bearer token, on the request options n8n gave it', async () => {
		const request: IHttpRequestOptions = { url: 'http://127.0.0.1:1/consumer/usage', headers: { Accept: 'application/json' } };
		const authenticate = credential.authenticate as (
			credentials: ICredentialDataDecryptedObject,
			requestOptions: IHttpRequestOptions,
		) => Promise<IHttpRequestOptions>;
		const sent = await authenticate({ longToken: 'long-token-1' }, request);
		// The same object: n8n hands it back after a 401.
		expect(sent).toBe(request);
		expect(sent.headers).toEqual({ Accept: 'application/json', Authorization: 'Bearer long-token-1' });
	});

	test('its fields are exactly the public ones, in order', () => {
		expect(credential.properties.map((property) => property.name)).toEqual([
			'username',
			'password',
			'temporaryPassword',
			'baseUrl',
			'tokenType',
			'rateLimit',
			'rateLimitPeriod',
			'longToken',
		]);
	});

	test('types, secrecy, required fields and defaults', () => {
		const field = (name: string) => one(credential.properties, name);
		const isPassword = (name: string) => field(name).typeOptions?.password === true;

		expect(field('username')).toMatchObject({ type: 'string', required: true, default: '' });
		expect(isPassword('username')).toBe(false);
		expect(field('password')).toMatchObject({ type: 'string', required: true });
		expect(isPassword('password')).toBe(true);
		expect(field('temporaryPassword').type).toBe('string');
		expect(field('temporaryPassword').required ?? false).toBe(false);
		expect(isPassword('temporaryPassword')).toBe(true);

		expect(field('baseUrl')).toMatchObject({ type: 'string', default: DEFAULT_BASE_URL });
		expect(field('tokenType')).toMatchObject({ type: 'string', default: DEFAULT_TOKEN_TYPE });
		expect(field('rateLimit')).toMatchObject({ type: 'number', default: DEFAULT_RATE_LIMIT });
		expect(field('rateLimitPeriod')).toMatchObject({ type: 'options', default: DEFAULT_RATE_LIMIT_PERIOD });
		expect(values(field('rateLimitPeriod'))).toEqual(['second', 'minute']);

		expect(field('longToken')).toMatchObject({ type: 'hidden', default: '' });
		expect(field('longToken').typeOptions).toMatchObject({ expirable: true, password: true });
	});

	test('the defaults are the ones node-interface.md promises', () => {
		expect(DEFAULT_BASE_URL).toBe('https://api.factori.ai/api/v1.0');
		expect(DEFAULT_TOKEN_TYPE).toBe('long');
		expect(DEFAULT_RATE_LIMIT).toBe(200);
		expect(DEFAULT_RATE_LIMIT_PERIOD).toBe('second');
	});
});

test('package.json registers the node and the credential, and the codex names the node type', () => {
	const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
		name: string;
		n8n: { credentials: string[]; nodes: string[] };
	};
	expect(manifest.n8n.credentials).toContain('dist/credentials/FactoriApi.credentials.js');
	expect(manifest.n8n.nodes).toContain('dist/nodes/Factori/Factori.node.js');
	for (const built of [...manifest.n8n.credentials, ...manifest.n8n.nodes]) {
		expect(existsSync(join(root, built.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
	}
	const codex = JSON.parse(readFileSync(join(nodeDir, 'Factori.node.json'), 'utf8')) as { node: string };
	expect(codex.node).toBe(`${manifest.name}.${description.name}`);
});
