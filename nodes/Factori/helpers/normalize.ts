/**
 * Normalization of the identifiers a lookup sends (see "Input rules" in factori-api.md).
 *
 * Every function here is pure, and `IdentifierError` is the only error it throws. A message
 * says what is wrong with the value and what to do about it, and reads well after a prefix
 * such as "item 3, field 'identifier': ". Messages may quote the value (it is the user's own
 * data), but never more than 40 characters of it.
 *
 * Every value these functions return matches the contract's `WIRE_SHAPE` for its kind.
 */
import { createHash } from 'crypto';

import {
	DEFAULT_PHONE_FORMAT,
	IDENTIFIER_TYPES,
	MAX_EMAIL_LENGTH,
	PHONE_FORMATS,
	PHONE_IN_FORMAT,
	WIRE_SHAPE,
	ZERO_MAID,
	type HashAlgorithm,
	type IdentifierType,
	type PhoneFormat,
} from '../transport/contract';

/** What the input holds: a raw identifier, or the hash of a normalized one. */
export type IdentifierFormat = 'raw' | 'sha256' | 'md5';
/** Whether to hash a raw identifier (after normalizing it) before it leaves n8n. */
export type HashBeforeSending = 'none' | 'sha256' | 'md5';

export class IdentifierError extends Error {
	name = 'IdentifierError';
}

const IDENTIFIER_FORMATS: readonly IdentifierFormat[] = ['raw', 'sha256', 'md5'];
const HASH_BEFORE_SENDING: readonly HashBeforeSending[] = ['none', 'sha256', 'md5'];
const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'md5'];

/** Longer than this, a value is not an identifier of any kind; it is not even looked at. */
const MAX_INPUT_LENGTH = 1000;
/** At most this many characters of the user's value appear in a message. */
const MAX_ECHO = 40;
/** RFC 5321: the part of an email before the `@` has at most 64 characters. */
const MAX_LOCAL_PART_LENGTH = 64;

const HASH_NAME: Record<HashAlgorithm, string> = { sha256: 'SHA-256', md5: 'MD5' };
/** The name with its article: "a SHA-256", "an MD5". */
const A_HASH_NAME: Record<HashAlgorithm, string> = { sha256: 'a SHA-256', md5: 'an MD5' };
const HASH_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, md5: 32 };
const TYPE_NAME: Record<IdentifierType, string> = { email: 'email', phone: 'phone', maid: 'MAID' };

const MAID_EXAMPLE = '6d92078a-8246-4ba4-ae5b-76104861e7dc';
const MAID_GROUPS = [8, 4, 4, 4, 12];

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

function fail(message: string): never {
	throw new IdentifierError(message);
}

const plural = (count: number, noun: string): string =>
	`${count} ${noun}${count === 1 ? '' : 's'}`;

/** Control, format (zero-width, bidi), separator and lone surrogate characters. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

function escapeInvisible(text: string): string {
	return text.replace(INVISIBLE, (char) => {
		const code = (char.codePointAt(0) ?? 0).toString(16);
		return code.length > 4 ? `\\u{${code}}` : `\\u${code.padStart(4, '0')}`;
	});
}

/** At most 40 characters of the value, invisible ones escaped. */
function clip(value: string): string {
	const chars = Array.from(value);
	const shown = chars.length > MAX_ECHO ? `${chars.slice(0, MAX_ECHO - 1).join('')}…` : value;
	return escapeInvisible(shown);
}

/** The value quoted for a message: at most 40 characters of it, invisible ones escaped. */
const show = (value: string): string => `'${clip(value)}'`;

/** A value of any type, as a message names it. */
const showAny = (value: unknown): string =>
	typeof value === 'string' ? show(value) : describeNonText(value);

/** One character quoted for a message. */
const showChar = (char: string): string => `'${escapeInvisible(char)}'`;

/** Lowercases A-Z only: no other character may turn into ASCII (the Kelvin sign into `k`). */
const asciiLower = (text: string): string => text.replace(/[A-Z]+/g, (run) => run.toLowerCase());

function describeNonText(value: unknown): string {
	if (value === undefined || value === null) {
		return String(value);
	}
	if (Array.isArray(value)) {
		return `a list of ${plural(value.length, 'value')}`;
	}
	switch (typeof value) {
		case 'number':
		case 'bigint':
			return `a number (${clip(String(value))})`;
		case 'boolean':
			return `a boolean (${String(value)})`;
		case 'object':
			return 'an object';
		case 'function':
			return 'a function';
		case 'symbol':
			return 'a symbol';
		default:
			return `a value of type ${typeof value}`;
	}
}

/**
 * The checks every kind of identifier shares: present, text, not blank, not absurdly long.
 * Returns the value trimmed.
 */
function requireText(value: unknown, label: string, what: string): string {
	if (value === undefined || value === null) {
		return fail(
			`The ${label} is missing (the value is ${String(value)}); map the field to one that holds ${what}`,
		);
	}
	if (typeof value !== 'string') {
		const hint = Array.isArray(value)
			? '; give one value per item (split the list into items first)'
			: `; map the field to the text of ${what}`;
		return fail(`The ${label} is ${describeNonText(value)}, not text${hint}`);
	}
	if (value === '') {
		return fail(`The ${label} is empty; map the field to one that holds ${what}`);
	}
	const trimmed = value.trim();
	if (trimmed === '') {
		return fail(
			`The ${label} is only whitespace (${plural(value.length, 'character')}); map the field to one that holds ${what}`,
		);
	}
	if (value.length > MAX_INPUT_LENGTH) {
		return fail(
			`The ${label} is ${value.length} characters long, more than the ${MAX_INPUT_LENGTH} any identifier could have; check that the field holds a single value, not a whole text or list`,
		);
	}
	return trimmed;
}

/** A raw identifier that is in fact a hash: point the user at the identifier format. */
function rejectHashLike(trimmed: string, label: string): void {
	const lower = asciiLower(trimmed);
	for (const algorithm of HASH_ALGORITHMS) {
		if (WIRE_SHAPE[algorithm].test(lower)) {
			fail(
				`The ${label} ${show(trimmed)} looks like ${A_HASH_NAME[algorithm]} hash, not a raw ${label}; if it is one, set the identifier format to ${HASH_NAME[algorithm]}`,
			);
		}
	}
}

const assertShape = (shape: RegExp, result: string, label: string, trimmed: string): string =>
	shape.test(result)
		? result
		: fail(`The ${label} ${show(trimmed)} is not in a form the Factori API accepts`);

// ---------------------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------------------

// The contract's email shape is `local@domain`, neither part holding an `@`. These test one
// part at a time against it, so that a message can say which part is wrong.
const isLocalPart = (local: string): boolean => WIRE_SHAPE.email.test(`${local}@example.com`);
const isDomain = (domain: string): boolean => WIRE_SHAPE.email.test(`a@${domain}`);
const isLocalChar = (char: string): boolean => isLocalPart(char);
const isDomainChar = (char: string): boolean => isDomain(`a${char}a.com`);

/**
 * Trimmed, lowercased and checked: exactly one `@`, no whitespace, at most 254 characters,
 * at most 64 before the `@`, a domain with a dot. Nothing provider-specific is rewritten
 * (a Gmail address keeps its dots and its `+tag`).
 */
export function normalizeEmail(value: unknown): string {
	const label = 'email';
	const trimmed = requireText(value, label, 'an email address');
	if (/\s/.test(trimmed)) {
		const which = trimmed.includes(' ') ? 'a space' : 'whitespace';
		fail(`The email ${show(trimmed)} contains ${which}; an email address has none`);
	}
	rejectHashLike(trimmed, label);
	const nonAscii = Array.from(trimmed).find((char) => char.charCodeAt(0) > 0x7e);
	if (nonAscii !== undefined) {
		fail(
			`The email ${show(trimmed)} contains ${showChar(nonAscii)}; only ASCII letters, digits and punctuation are accepted (write an internationalized domain in its xn-- form)`,
		);
	}
	const email = asciiLower(trimmed);
	const ats = email.split('@').length - 1;
	if (ats === 0) {
		fail(`The email ${show(trimmed)} has no '@'; an email address looks like name@example.com`);
	}
	if (ats > 1) {
		fail(
			`The email ${show(trimmed)} has ${ats} '@' signs; an email address has exactly one (give one address per item)`,
		);
	}
	if (email.length > MAX_EMAIL_LENGTH) {
		fail(
			`The email ${show(trimmed)} is ${email.length} characters long; an email address has at most ${MAX_EMAIL_LENGTH}`,
		);
	}
	const [local, domain] = email.split('@');
	if (local === '') {
		fail(`The email ${show(trimmed)} has nothing before the '@'`);
	}
	if (domain === '') {
		fail(`The email ${show(trimmed)} has nothing after the '@'; add the domain, like example.com`);
	}
	if (local.length > MAX_LOCAL_PART_LENGTH) {
		fail(
			`The email ${show(trimmed)} has ${local.length} characters before the '@'; at most ${MAX_LOCAL_PART_LENGTH} are allowed`,
		);
	}
	if (!isLocalPart(local)) {
		const bad = Array.from(local).find((char) => !isLocalChar(char)) ?? local;
		fail(
			`The email ${show(trimmed)} contains ${showChar(bad)} before the '@', which an email address cannot have there`,
		);
	}
	if (!domain.includes('.')) {
		fail(
			`The email ${show(trimmed)} has no dot in its domain ${show(domain)}; a domain looks like example.com`,
		);
	}
	if (!isDomain(domain)) {
		const bad = Array.from(domain).find((char) => !isDomainChar(char));
		const detail =
			bad === undefined
				? 'a domain is names of letters, digits and hyphens joined by single dots, none starting or ending with a hyphen or dot'
				: `it contains ${showChar(bad)}; a domain has only letters, digits, hyphens and dots`;
		fail(`The email ${show(trimmed)} has an invalid domain ${show(domain)}: ${detail}`);
	}
	return assertShape(WIRE_SHAPE.email, email, label, trimmed);
}

// ---------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------

/** An extension at the end: `x12`, `ext 12`, `ext. 12`, `extn 12`, `extension 12`, `#12`. */
const EXTENSION = /\s*(?:#|x|ext|extn|extension)\s*[.:]?\s*\d+$/i;
/** Separators a phone may be written with: whitespace, hyphens and dashes, dots, parentheses. */
const PHONE_SEPARATORS = /[\s\-\u2010-\u2015\u2212.()]/g;
const US_DIGITS = 'a US number has 10 (or 11 starting with 1)';

function phoneDigitsFromNumber(value: number | bigint): string {
	const shown = clip(String(value));
	if (typeof value === 'number') {
		if (Number.isNaN(value)) {
			fail('The phone is NaN (not a number); map the field to one that holds a phone number');
		}
		if (!Number.isFinite(value)) {
			fail(`The phone is ${shown}; map the field to one that holds a phone number`);
		}
		if (!Number.isInteger(value)) {
			fail(`The phone ${shown} is not a whole number; a phone number has digits only`);
		}
		if (!Number.isSafeInteger(value)) {
			fail(
				`The phone ${shown} is too large a number to be a phone number; ${US_DIGITS} digits`,
			);
		}
	}
	if (value < 0) {
		fail(`The phone ${shown} is negative; a phone number has digits only`);
	}
	return String(value);
}

/**
 * A US phone number in E.164 form, `+1` and 10 digits. Accepts 10 digits, 11 digits starting
 * with 1, or `+1` and 10 digits, written with any spaces, hyphens, dots and parentheses and
 * an optional extension (which is dropped). Numbers (a JS `number`) are accepted too.
 */
export function normalizePhone(value: unknown): string {
	const label = 'phone';
	let shown: string; // the value as messages quote it
	let digits: string;
	let plus = false;
	if (typeof value === 'number' || typeof value === 'bigint') {
		shown = clip(String(value));
		digits = phoneDigitsFromNumber(value);
	} else {
		const trimmed = requireText(value, label, 'a phone number');
		shown = show(trimmed);
		rejectHashLike(trimmed, label);
		const main = trimmed.replace(EXTENSION, '');
		const rest = main.replace(PHONE_SEPARATORS, '');
		plus = rest.startsWith('+');
		const body = plus ? rest.slice(1) : rest;
		if (/[a-z]/i.test(body)) {
			fail(
				`The phone ${shown} contains letters; a phone number has digits only (write a vanity number as digits)`,
			);
		}
		if (body.includes('+')) {
			fail(`The phone ${shown} has a '+' that is not at its start`);
		}
		const bad = Array.from(body).find((char) => !/\d/.test(char));
		if (bad !== undefined) {
			fail(
				`The phone ${shown} contains ${showChar(bad)}; a phone number has digits, optionally a leading +1, spaces, hyphens, dots, parentheses and an extension`,
			);
		}
		digits = body;
		if (plus && digits !== '' && !digits.startsWith('1')) {
			const code = /^\+\s*(\d{1,3})(?=[\s\-\u2010-\u2015\u2212.(]|$)/.exec(main)?.[1];
			const which =
				code !== undefined
					? `has country code +${code}`
					: `has a country code other than +1 (it starts with +${digits.charAt(0)})`;
			fail(`The phone ${shown} ${which}; only US numbers (+1) are accepted`);
		}
	}

	let national: string;
	if (digits.length === 0) {
		return fail(`The phone ${shown} has no digits`);
	} else if (plus) {
		const after = digits.length - 1;
		if (after !== 10) {
			fail(`The phone ${shown} has ${plural(after, 'digit')} after +1; a US number has 10`);
		}
		national = digits.slice(1);
	} else if (digits.length > 11 && (digits.startsWith('00') || digits.startsWith('011'))) {
		return fail(
			`The phone ${shown} starts with an international dialing prefix (${digits.startsWith('00') ? '00' : '011'}); only US numbers are accepted, as 10 digits or +1 and 10 digits`,
		);
	} else if (digits.length === 10) {
		national = digits;
	} else if (digits.length === 11 && digits.startsWith('1')) {
		national = digits.slice(1);
	} else if (digits.length === 11) {
		return fail(
			`The phone ${shown} has 11 digits but does not start with 1; ${US_DIGITS}`,
		);
	} else {
		return fail(`The phone ${shown} has ${plural(digits.length, 'digit')}; ${US_DIGITS}`);
	}
	if (!/^[2-9]/.test(national)) {
		fail(
			`The phone ${shown} has area code ${national.slice(0, 3)}; a US area code starts with a digit from 2 to 9`,
		);
	}
	const phone = PHONE_IN_FORMAT.e164(national);
	return WIRE_SHAPE.phone.test(phone)
		? phone
		: fail(`The phone ${shown} is not in a form the Factori API accepts`);
}

// ---------------------------------------------------------------------------------------
// MAID
// ---------------------------------------------------------------------------------------

/**
 * A mobile advertising ID (IDFA or GAID): a UUID, 8-4-4-4-12 hex digits, trimmed and
 * lowercased, hyphens kept. The all-zero MAID (ad tracking disabled) is rejected.
 */
export function normalizeMaid(value: unknown): string {
	const label = 'MAID';
	const trimmed = requireText(value, label, `a MAID (a UUID such as ${MAID_EXAMPLE})`);
	const maid = asciiLower(trimmed);
	const form = `a MAID is a UUID of 8-4-4-4-12 hex digits, like ${MAID_EXAMPLE}`;
	if (/\s/.test(maid)) {
		fail(`The MAID ${show(trimmed)} contains whitespace; ${form}`);
	}
	if (/^\{.*\}$/.test(maid)) {
		fail(`The MAID ${show(trimmed)} is wrapped in braces; remove them: ${form}`);
	}
	if (WIRE_SHAPE.md5.test(maid)) {
		fail(
			`The MAID ${show(trimmed)} has 32 hex digits but no hyphens; ${form} (if it is an MD5 hash, set the identifier format to MD5)`,
		);
	}
	rejectHashLike(trimmed, label);
	const bad = Array.from(maid).find((char) => !/[0-9a-f-]/.test(char));
	if (bad !== undefined) {
		fail(
			`The MAID ${show(trimmed)} contains ${showChar(bad)}, which is not a hex digit; ${form}`,
		);
	}
	const groups = maid.split('-').map((group) => group.length);
	if (groups.length === 1) {
		fail(`The MAID ${show(trimmed)} has ${plural(maid.length, 'hex digit')} and no hyphens; ${form}`);
	}
	if (groups.join('-') !== MAID_GROUPS.join('-')) {
		fail(`The MAID ${show(trimmed)} has groups of ${groups.join('-')} hex digits; ${form}`);
	}
	if (maid === ZERO_MAID) {
		fail(
			`The MAID ${show(trimmed)} is all zeros: the device has ad tracking disabled, so it identifies no one; skip such items`,
		);
	}
	return assertShape(WIRE_SHAPE.maid, maid, label, trimmed);
}

// ---------------------------------------------------------------------------------------
// Hashes
// ---------------------------------------------------------------------------------------

function requireAlgorithm(algorithm: unknown): HashAlgorithm {
	return HASH_ALGORITHMS.includes(algorithm as HashAlgorithm)
		? (algorithm as HashAlgorithm)
		: fail(`The hash algorithm ${showAny(algorithm)} is unknown; use sha256 or md5`);
}

/** The lowercase hex digest of a normalized raw identifier. */
export function hashIdentifier(normalizedRaw: string, algorithm: HashAlgorithm): string {
	const checked = requireAlgorithm(algorithm);
	if (typeof normalizedRaw !== 'string' || normalizedRaw === '') {
		fail('There is no identifier to hash; an empty value has no meaningful hash');
	}
	return createHash(checked).update(normalizedRaw, 'utf8').digest('hex');
}

const EMPTY_HASH: Record<HashAlgorithm, string> = {
	sha256: createHash('sha256').update('').digest('hex'),
	md5: createHash('md5').update('').digest('hex'),
};

/** A hash given as input: trimmed, lowercased, exactly 64 (SHA-256) or 32 (MD5) hex digits. */
export function normalizeHash(value: unknown, algorithm: HashAlgorithm): string {
	const checked = requireAlgorithm(algorithm);
	const name = HASH_NAME[checked];
	const length = HASH_LENGTH[checked];
	const label = `${name} hash`;
	const trimmed = requireText(value, label, `${A_HASH_NAME[checked]} hash`);
	const hash = asciiLower(trimmed);
	const expected = `${A_HASH_NAME[checked]} hash has exactly ${length} hex characters (0-9, a-f)`;
	const count = Array.from(hash).length;
	const bad = Array.from(hash).find((char) => !/[0-9a-f]/.test(char));
	if (count !== length) {
		const other = HASH_ALGORITHMS.find((a) => a !== checked && HASH_LENGTH[a] === count);
		let hint = '';
		if (bad === undefined && other !== undefined) {
			hint = `; that is the length of ${A_HASH_NAME[other]} hash: if it is one, set the identifier format to ${HASH_NAME[other]}`;
		} else if (hash.includes('@')) {
			hint = '; it looks like a raw email: if it is one, set the identifier format to raw';
		}
		fail(`The ${label} ${show(trimmed)} has ${plural(count, 'character')}; ${expected}${hint}`);
	}
	if (bad !== undefined) {
		fail(
			`The ${label} ${show(trimmed)} has ${count} characters but contains ${showChar(bad)}, which is not a hex digit; ${expected}`,
		);
	}
	if (hash === EMPTY_HASH[checked]) {
		fail(
			`The ${label} ${show(trimmed)} is the hash of an empty value: the identifier was blank when it was hashed; skip such items`,
		);
	}
	return assertShape(WIRE_SHAPE[checked], hash, label, trimmed);
}

// ---------------------------------------------------------------------------------------
// What the node sends
// ---------------------------------------------------------------------------------------

const NORMALIZE: Record<IdentifierType, (value: unknown) => string> = {
	email: normalizeEmail,
	phone: normalizePhone,
	maid: normalizeMaid,
};

function requireOneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
	return allowed.includes(value as T)
		? (value as T)
		: fail(`The ${what} ${showAny(value)} is unknown; use one of ${allowed.join(', ')}`);
}

/**
 * The value a lookup sends. A raw identifier is normalized for its type (a phone written in
 * `phoneFormat`), then hashed when `hashBeforeSending` asks for it. A hashed identifier is
 * normalized as a hash and sent as given: a hash cannot be re-hashed into anything the server
 * could match, so asking to hash it with the same algorithm changes nothing, and with the
 * other algorithm is an error.
 */
export function toWireIdentifier(
	type: IdentifierType,
	value: unknown,
	format: IdentifierFormat,
	hashBeforeSending: HashBeforeSending,
	phoneFormat: PhoneFormat = DEFAULT_PHONE_FORMAT,
): string {
	const checkedType = requireOneOf(type, IDENTIFIER_TYPES, 'identifier type');
	const checkedFormat = requireOneOf(format, IDENTIFIER_FORMATS, 'identifier format');
	const hashing = requireOneOf(hashBeforeSending, HASH_BEFORE_SENDING, 'hash-before-sending option');
	const writePhone = PHONE_IN_FORMAT[requireOneOf(phoneFormat, PHONE_FORMATS, 'phone format')];

	if (checkedFormat === 'raw') {
		let normalized = NORMALIZE[checkedType](value);
		// normalizePhone gives E.164: '+1' and the 10 national digits.
		if (checkedType === 'phone') normalized = writePhone(normalized.slice(2));
		return hashing === 'none' ? normalized : hashIdentifier(normalized, hashing);
	}

	const hash = normalizeHash(value, checkedFormat);
	if (hashing !== 'none' && hashing !== checkedFormat) {
		fail(
			`The ${TYPE_NAME[checkedType]} is given as ${A_HASH_NAME[checkedFormat]} hash, but the hash-before-sending option asks for ${HASH_NAME[hashing]}, and one hash cannot be turned into another; set that option to None or ${HASH_NAME[checkedFormat]}, or give the raw ${TYPE_NAME[checkedType]}`,
		);
	}
	if (checkedType === 'maid' && hash === hashIdentifier(ZERO_MAID, checkedFormat)) {
		fail(
			`The ${HASH_NAME[checkedFormat]} hash ${show(hash)} is the hash of the all-zero MAID: the device has ad tracking disabled, so it identifies no one; skip such items`,
		);
	}
	return hash;
}
