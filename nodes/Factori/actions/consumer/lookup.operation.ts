import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	NodeApiError,
} from 'n8n-workflow';

import { IDENTIFIER_TYPES, type IdentifierType, type PhoneFormat } from '../../transport/contract';
import { openSession } from '../../transport';
import { DEFAULT_RETRY } from '../../transport/retry';
import {
	IdentifierError,
	toWireIdentifier,
	type HashBeforeSending,
	type IdentifierFormat,
} from '../../helpers/normalize';
import { apiError, operationError } from '../../helpers/errors';
import type { ItemOutcome, OperationRun } from '../outcome';

const showFor = { show: { resource: ['consumer'], operation: ['lookup'] } };

export const properties: INodeProperties[] = [
	{
		displayName: 'Identifier Type',
		name: 'identifierType',
		type: 'options',
		noDataExpression: false,
		options: [
			{ name: 'Email', value: 'email', description: 'An email address' },
			{ name: 'Mobile Advertising ID', value: 'maid', description: 'An IDFA or GAID, as a UUID' },
			{ name: 'Phone', value: 'phone', description: 'A US phone number' },
		],
		default: 'email',
		description: 'What kind of identifier each item carries',
		displayOptions: showFor,
	},
	{
		displayName: 'Identifier',
		name: 'identifier',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. {{ $json.email }}',
		description:
			"The email, phone or MAID to look up, usually an expression that reads it from the item. It is normalized before sending (emails lowercased, phones as +1XXXXXXXXXX unless Phone Format says otherwise, MAIDs as lowercase UUIDs).",
		displayOptions: showFor,
	},
	{
		displayName: 'Identifier Format',
		name: 'identifierFormat',
		type: 'options',
		options: [
			{ name: 'Raw Value', value: 'raw' },
			{ name: 'SHA-256 Hash', value: 'sha256', description: '64 hex characters, of the normalized value' },
			{ name: 'MD5 Hash', value: 'md5', description: '32 hex characters, of the normalized value' },
		],
		default: 'raw',
		description: 'What the input holds: the value itself or a hash of it',
		displayOptions: showFor,
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: showFor,
		options: [
			{
				displayName: 'Deduplicate',
				name: 'deduplicate',
				type: 'boolean',
				default: true,
				description:
					'Whether to look each identifier up once per run however many items carry it (saves quota)',
			},
			{
				displayName: 'Hash Before Sending',
				name: 'hashBeforeSending',
				type: 'options',
				options: [
					{ name: 'None', value: 'none' },
					{ name: 'SHA-256', value: 'sha256' },
					{ name: 'MD5', value: 'md5' },
				],
				default: 'none',
				description:
					'Hash a raw identifier after normalizing it, so that no raw personal data leaves n8n. The output then shows the hash.',
			},
			{
				displayName: 'Include Input Fields',
				name: 'includeInputFields',
				type: 'boolean',
				default: false,
				description: "Whether to keep the input item's fields beside the result",
			},
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10 },
				// n8n's linter wants a literal here; a test holds it equal to DEFAULT_RETRY.maxAttempts.
				default: 5,
				description:
					'How often one lookup is tried when Factori fails (5xx, dropped connection, time-out) before the item gets an error',
			},
			{
				displayName: 'Phone Format',
				name: 'phoneFormat',
				type: 'options',
				options: [
					{ name: '+1 and 10 Digits (E.164)', value: 'e164', description: 'Like +15551234567' },
					{ name: '1 and 10 Digits', value: 'countryCode', description: 'Like 15551234567' },
					{ name: '10 Digits', value: 'national', description: 'Like 5551234567' },
				],
				// n8n's linter wants a literal here; a test holds it equal to DEFAULT_PHONE_FORMAT.
				default: 'e164',
				description:
					'How a raw phone is written when it is sent (and hashed, with Hash Before Sending). Factori documents US numbers with the +1 country code; change this only if your account expects another form.',
				displayOptions: { show: { '/identifierType': ['phone'] } },
			},
		],
	},
];

interface LookupOptions {
	hashBeforeSending?: HashBeforeSending;
	phoneFormat?: PhoneFormat;
	includeInputFields?: boolean;
	deduplicate?: boolean;
	maxAttempts?: number;
}

/** One item's request: what is sent, or why nothing can be. */
type Request = { type: IdentifierType; value: string; options: LookupOptions } | { error: NodeOperationError };

/** The parameters one item's lookup reads, with the value n8n gives when one is not set. */
const ITEM_PARAMETERS = [
	['identifierType', undefined],
	['identifierFormat', 'raw'],
	['options', {}],
	['identifier', undefined],
] as const;

function readRequest(context: IExecuteFunctions, itemIndex: number): Request {
	const fail = (message: string, description?: string) => ({
		error: operationError(context.getNode(), message, { itemIndex, description }),
	});
	const read: Record<string, unknown> = {};
	for (const [name, fallback] of ITEM_PARAMETERS) {
		try {
			read[name] = context.getNodeParameter(name, itemIndex, fallback);
		} catch (error) {
			// An expression that fails for this item (e.g. it names a node that is gone) fails
			// this item alone, like any other unusable value.
			const reason = error instanceof Error ? error.message : String(error);
			const description = (error as { description?: unknown } | undefined)?.description;
			return fail(
				`Item ${itemIndex}: field '${name}': its value could not be read: ${reason}`,
				typeof description === 'string' ? description : undefined,
			);
		}
	}
	const type = read.identifierType as IdentifierType;
	const format = read.identifierFormat as IdentifierFormat;
	const options = read.options as LookupOptions;
	const raw = read.identifier;
	if (!IDENTIFIER_TYPES.includes(type)) {
		return fail(`Item ${itemIndex}: field 'identifierType' is '${String(type)}'; use email, phone or maid`);
	}
	try {
		const value = toWireIdentifier(type, raw, format, options.hashBeforeSending ?? 'none', options.phoneFormat);
		return { type, value, options };
	} catch (error) {
		if (error instanceof IdentifierError) {
			return fail(`Item ${itemIndex}: field 'identifier': ${error.message}`, `Identifier type: ${type}, format: ${format}.`);
		}
		return fail(`Item ${itemIndex}: field 'identifier' could not be read`);
	}
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	run: OperationRun,
): Promise<ItemOutcome[]> {
	const requests = items.map((_item, itemIndex) => readRequest(this, itemIndex));
	const firstInvalid = requests.find((request) => 'error' in request);
	// Stopping on the first error: refuse before spending any quota.
	if (!run.continueOnFail && firstInvalid && 'error' in firstInvalid) return [firstInvalid];

	const maxAttempts = Math.max(
		1,
		...requests.map((request) => ('error' in request ? 1 : (request.options.maxAttempts ?? DEFAULT_RETRY.maxAttempts))),
	);
	const session = await openSession(this, maxAttempts);
	const lookups = new Map<string, Promise<ItemOutcome>>();
	// When the node stops on errors, the failure that stopped the run is the one to report,
	// not the cancellations it caused.
	let stoppedBy: NodeApiError | NodeOperationError | undefined;

	const lookupFor = (request: Exclude<Request, { error: NodeOperationError }>, itemIndex: number) => {
		const key = request.options.deduplicate === false ? `#${itemIndex}` : `${request.type}\u0000${request.value}`;
		let lookup = lookups.get(key);
		if (!lookup) {
			lookup = session.client.lookup(request.type, request.value, itemIndex).then(
				(consumer): ItemOutcome => ({
					json: { matched: consumer !== null, identifierType: request.type, identifier: request.value, consumer },
				}),
				(error: unknown): ItemOutcome => {
					const nodeError = asNodeError(this, error, itemIndex);
					if (!run.continueOnFail && !stoppedBy) {
						stoppedBy = forItem(this, nodeError, itemIndex);
						session.stop();
					}
					return { error: nodeError };
				},
			);
			lookups.set(key, lookup);
		}
		return lookup;
	};

	const outcomes = await Promise.all(
		requests.map(async (request, itemIndex): Promise<ItemOutcome> => {
			if ('error' in request) return request;
			const outcome = await lookupFor(request, itemIndex);
			if ('error' in outcome) return { error: forItem(this, outcome.error, itemIndex) };
			const json: IDataObject = request.options.includeInputFields
				? { ...items[itemIndex].json, ...outcome.json }
				: { ...outcome.json };
			return { json };
		}),
	);
	return stoppedBy ? [{ error: stoppedBy }] : outcomes;
}

function asNodeError(context: IExecuteFunctions, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	const message = error instanceof Error ? error.message : String(error);
	return operationError(context.getNode(), `the lookup stopped: ${message}`, { itemIndex });
}

/** The error of a lookup, as the error of one item that needed it (several may share it). */
function forItem(
	context: IExecuteFunctions,
	error: NodeApiError | NodeOperationError,
	itemIndex: number,
): NodeApiError | NodeOperationError {
	const message = `Item ${itemIndex}: ${error.message}`;
	const details = { itemIndex, description: error.description ?? undefined };
	return error instanceof NodeApiError
		? apiError(context.getNode(), message, { ...details, httpCode: error.httpCode ?? undefined })
		: operationError(context.getNode(), message, details);
}
