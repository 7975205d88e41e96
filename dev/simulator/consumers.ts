import { createHash } from 'node:crypto';
import {
	IDENTIFIER_QUERY_NAME,
	MAX_EMAIL_LENGTH,
	WIRE_SHAPE,
	ZERO_MAID,
	type ConsumerRecord,
	type HashAlgorithm,
	type IdentifierType,
} from '../../nodes/Factori/transport/contract';

/** How a value reached the server: raw (normalized) or hashed. */
export type WireKind = 'raw' | HashAlgorithm;

export type IdentifierCheck = { ok: true; kind: WireKind } | { ok: false; message: string };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

const HASH_HINT = 'or a lowercase hex SHA-256 (64 characters) or MD5 (32 characters) hash of one';
const EXAMPLE: Record<IdentifierType, string> = {
	email: 'jane.doe@example.com',
	phone: '+15551234567',
	maid: '6f9619ff-8b86-d011-b42d-00cf4fc964ff',
};

/** Why a raw value breaks the input rules, never echoing it. */
function rawProblem(type: IdentifierType, value: string): string | undefined {
	const name = IDENTIFIER_QUERY_NAME[type];
	switch (type) {
		case 'email':
			if (value.length > MAX_EMAIL_LENGTH) return `${name} must be at most ${MAX_EMAIL_LENGTH} characters`;
			if (/\s/.test(value)) return `${name} must not contain spaces`;
			if (/[A-Z]/.test(value)) return `${name} must be lowercase`;
			if (!WIRE_SHAPE.email.test(value)) {
				return `${name} must be a proper address, like ${EXAMPLE.email}, ${HASH_HINT}`;
			}
			return undefined;
		case 'phone':
			if (WIRE_SHAPE.phone.test(value)) return undefined;
			if (/^ 1\d{10}$/.test(value)) {
				return `${name} must be E.164 with country code +1, like ${EXAMPLE.phone}; a "+" in a query string must be sent as %2B`;
			}
			if (/(x|ext)/i.test(value)) return `${name} must have no extension: E.164 with country code +1, like ${EXAMPLE.phone}`;
			if (/[\s\-().]/.test(value)) {
				return `${name} must have no spaces, hyphens or brackets: E.164 with country code +1, like ${EXAMPLE.phone}`;
			}
			return `${name} must be E.164 with country code +1, like ${EXAMPLE.phone}, ${HASH_HINT}`;
		case 'maid':
			if (value === ZERO_MAID) return `${name} is the all-zero MAID (ad tracking disabled), not an identifier`;
			if (/[A-F]/.test(value) && WIRE_SHAPE.maid.test(value.toLowerCase())) return `${name} must be lowercase`;
			if (!WIRE_SHAPE.maid.test(value)) {
				return `${name} must be a UUID with hyphens, like ${EXAMPLE.maid}, ${HASH_HINT}`;
			}
			return undefined;
	}
}

/** Whether `value` is acceptable on the wire for `type`, and whether it is raw or hashed. */
export function checkIdentifier(type: IdentifierType, value: string): IdentifierCheck {
	const name = IDENTIFIER_QUERY_NAME[type];
	if (value === '') return { ok: false, message: `${name} is empty` };
	if (WIRE_SHAPE.sha256.test(value)) return { ok: true, kind: 'sha256' };
	if (WIRE_SHAPE.md5.test(value)) return { ok: true, kind: 'md5' };
	if (/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/.test(value)) {
		return { ok: false, message: `${name} hash must be lowercase hex` };
	}
	const problem = rawProblem(type, value);
	return problem === undefined ? { ok: true, kind: 'raw' } : { ok: false, message: problem };
}

/** Raw values that never match, so tests and demos can provoke a 404 without setup. */
export function isBuiltInNoMatch(type: IdentifierType, raw: string): boolean {
	switch (type) {
		case 'email':
			return raw.includes('nomatch');
		case 'phone':
			return raw.endsWith('0000');
		case 'maid':
			return raw.startsWith('ffffffff');
	}
}

/**
 * The key a record is derived from: sha256 of a raw value, a SHA-256 hash as sent (so raw
 * and SHA-256 lookups of one person agree), an MD5 hash as sent. Null for invalid values.
 */
export function personKey(type: IdentifierType, wireValue: string): string | null {
	const check = checkIdentifier(type, wireValue);
	if (!check.ok) return null;
	return check.kind === 'raw' ? sha256(wireValue) : wireValue;
}

const FIRST_NAMES = [
	'Avery', 'Blake', 'Casey', 'Dana', 'Eli', 'Frankie', 'Gray', 'Harper',
	'Indy', 'Jordan', 'Kai', 'Logan', 'Morgan', 'Noel', 'Parker', 'Quinn',
];
const LAST_NAMES = [
	'Anderson', 'Brooks', 'Carter', 'Diaz', 'Ellis', 'Foster', 'Garcia', 'Hayes',
	'Ito', 'Jensen', 'Kim', 'Lopez', 'Miller', 'Nguyen', 'Okafor', 'Patel',
];
const PLACES: ReadonlyArray<readonly [city: string, state: string]> = [
	['Austin', 'TX'], ['Boise', 'ID'], ['Chicago', 'IL'], ['Denver', 'CO'],
	['Eugene', 'OR'], ['Fresno', 'CA'], ['Madison', 'WI'], ['Miami', 'FL'],
	['Nashville', 'TN'], ['Omaha', 'NE'], ['Phoenix', 'AZ'], ['Raleigh', 'NC'],
];
const AGE_RANGES = ['18-24', '25-34', '35-44', '45-54', '55-64', '65+'];
const GENDERS = ['female', 'male'];
const INTERESTS = [
	'cooking', 'cycling', 'finance', 'fitness', 'gaming', 'gardening', 'hiking', 'home improvement',
	'movies', 'music', 'outdoors', 'parenting', 'pets', 'photography', 'technology', 'travel',
];
const INCOMES = ['<$25k', '$25k-$50k', '$50k-$75k', '$75k-$100k', '$100k-$150k', '$150k+'];

/** A consumer record picked from built-in lists by bytes of the person key. */
export function recordForKey(key: string): ConsumerRecord {
	const bytes = createHash('sha256').update(`factori-simulator-record:${key}`).digest();
	const pick = <T>(list: readonly T[], index: number): T => list[bytes[index] % list.length];
	const interests: string[] = [];
	for (let index = 8; index < bytes.length && interests.length < 3; index++) {
		const interest = pick(INTERESTS, index);
		if (!interests.includes(interest)) interests.push(interest);
	}
	const [city, state] = pick(PLACES, 2);
	return {
		id: `fsim_${bytes.subarray(16, 28).toString('hex')}`,
		first_name: pick(FIRST_NAMES, 0),
		last_name: pick(LAST_NAMES, 1),
		city,
		state,
		age_range: pick(AGE_RANGES, 3),
		gender: pick(GENDERS, 4),
		interests,
		household_income: pick(INCOMES, 5),
	};
}

/**
 * The consumer a lookup finds, deterministically; null for no match (the built-in no-match
 * raw values) and for values that are not valid on the wire. Pure: values registered as
 * unmatched on a running simulator are that simulator's business.
 */
export function consumerFor(type: IdentifierType, wireValue: string): ConsumerRecord | null {
	const check = checkIdentifier(type, wireValue);
	if (!check.ok) return null;
	if (check.kind === 'raw' && isBuiltInNoMatch(type, wireValue)) return null;
	return recordForKey(check.kind === 'raw' ? sha256(wireValue) : wireValue);
}

/** Values that find no consumer; a raw value brings its SHA-256 and MD5 hashes along. */
export class UnmatchedRegistry {
	private readonly values = new Set<string>();

	mark(type: IdentifierType, value: string): void {
		this.values.add(`${type}:${value}`);
		if (!WIRE_SHAPE.sha256.test(value) && !WIRE_SHAPE.md5.test(value)) {
			this.values.add(`${type}:${sha256(value)}`);
			this.values.add(`${type}:${md5(value)}`);
		}
	}

	has(type: IdentifierType, wireValue: string): boolean {
		return this.values.has(`${type}:${wireValue}`);
	}
}
