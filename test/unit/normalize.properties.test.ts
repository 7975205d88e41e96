import { createHash } from 'crypto';
import fc from 'fast-check';

import {
	IdentifierError,
	normalizeEmail,
	normalizeHash,
	normalizeMaid,
	normalizePhone,
	toWireIdentifier,
	type HashBeforeSending,
	type IdentifierFormat,
} from '../../nodes/Factori/helpers/normalize';
import {
	IDENTIFIER_TYPES,
	MAX_EMAIL_LENGTH,
	PHONE_FORMATS,
	WIRE_SHAPE,
	ZERO_MAID,
	type HashAlgorithm,
	type IdentifierType,
	type PhoneFormat,
} from '../../nodes/Factori/transport/contract';

const NORMALIZE: Record<IdentifierType, (value: unknown) => string> = {
	email: normalizeEmail,
	phone: normalizePhone,
	maid: normalizeMaid,
};
const ALGORITHMS: HashAlgorithm[] = ['sha256', 'md5'];
const FORMATS: IdentifierFormat[] = ['raw', 'sha256', 'md5'];
const HASHING: HashBeforeSending[] = ['none', 'sha256', 'md5'];
/** A raw phone as sent in each format (WIRE_SHAPE.phone is the E.164 one). */
const PHONE_SHAPE: Record<PhoneFormat, RegExp> = { e164: WIRE_SHAPE.phone, countryCode: /^1\d{10}$/, national: /^\d{10}$/ };
const RUNS = { numRuns: 500 };

/** The value, or the IdentifierError it threw; any other error fails the property. */
function attempt(run: () => string): { value: string } | { error: IdentifierError } {
	try {
		return { value: run() };
	} catch (error) {
		if (error instanceof IdentifierError) return { error };
		throw new Error(`threw something other than an IdentifierError: ${String(error)}`);
	}
}

const whitespace = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\u00a0'), maxLength: 3 });
const padded = (arb: fc.Arbitrary<string>) =>
	fc.tuple(whitespace, arb, whitespace).map(([before, value, after]) => before + value + after);

const digit = fc.constantFrom(...'0123456789');
const digits = (length: number) => fc.string({ unit: digit, minLength: length, maxLength: length });
const hex = (length: number) =>
	fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: length, maxLength: length });

/** A US number (area code 2-9) written with any of the accepted prefixes, noise and extensions. */
const usPhone = fc
	.record({
		area: fc.tuple(fc.constantFrom(...'23456789'), digits(2)).map(([a, b]) => a + b),
		exchange: digits(3),
		line: digits(4),
		prefix: fc.constantFrom('', '1', '1 ', '1-', '+1', '+1 ', '+1-', '+1.'),
		style: fc.constantFrom('plain', 'dashes', 'dots', 'parens', 'spaces'),
		extension: fc.constantFrom('', 'x12', ' x 7', ' ext. 123', ' ext 4', ' #99', ' extension 5', ' Ext.12'),
	})
	.map(({ area, exchange, line, prefix, style, extension }) => {
		const national = {
			plain: `${area}${exchange}${line}`,
			dashes: `${area}-${exchange}-${line}`,
			dots: `${area}.${exchange}.${line}`,
			parens: `(${area}) ${exchange}-${line}`,
			spaces: `${area} ${exchange} ${line}`,
		}[style];
		return { text: `${prefix}${national}${extension}`, expected: `+1${area}${exchange}${line}` };
	});

/** Digit strings with the noise phones come with: separators, letters, plus signs, extensions. */
const noisyDigits = fc
	.array(fc.oneof(digit, digit, digit, fc.constantFrom(' ', '-', '.', '(', ')', '+', 'x', 'ext ', '#', '/', 'a', '\u2013')), {
		maxLength: 24,
	})
	.map((parts) => parts.join(''));

const maid = fc
	.mixedCase(fc.uuid())
	.filter((value) => value.toLowerCase() !== ZERO_MAID);

const email = fc
	.mixedCase(fc.emailAddress())
	.filter((value) => value.length <= MAX_EMAIL_LENGTH && value.split('@')[0].length <= 64);

const validRaw: Record<IdentifierType, fc.Arbitrary<unknown>> = {
	email: padded(email),
	phone: fc.oneof(
		padded(usPhone.map((p) => p.text)),
		fc.integer({ min: 2_000_000_000, max: 9_999_999_999 }),
		fc.integer({ min: 12_000_000_000, max: 19_999_999_999 }),
	),
	maid: padded(maid),
};

const anyInput = fc.oneof(
	fc.anything({
		withBigInt: true,
		withBoxedValues: true,
		withDate: true,
		withMap: true,
		withSet: true,
		withNullPrototype: true,
		withObjectString: true,
		withSparseArray: true,
		withTypedArray: true,
	}),
	fc.string(),
	fc.string({ unit: 'binary' }),
	fc.string({ unit: 'grapheme', maxLength: 80 }),
	noisyDigits,
	fc.double(),
	fc.integer(),
	fc.bigInt(),
);

describe('normalize: properties', () => {
	describe.each(IDENTIFIER_TYPES)('%s', (type) => {
		const normalize = NORMALIZE[type];

		it('accepts valid identifiers, with output in the contract shape', () => {
			fc.assert(
				fc.property(validRaw[type], (value) => {
					expect(normalize(value)).toMatch(WIRE_SHAPE[type]);
				}),
				RUNS,
			);
		});

		it('is idempotent on valid identifiers', () => {
			fc.assert(
				fc.property(validRaw[type], (value) => {
					const once = normalize(value);
					expect(normalize(once)).toBe(once);
				}),
				RUNS,
			);
		});

		it('on any input returns a shape-valid, idempotent value or throws an IdentifierError', () => {
			fc.assert(
				fc.property(anyInput, (value) => {
					const result = attempt(() => normalize(value));
					if ('value' in result) {
						expect(result.value).toMatch(WIRE_SHAPE[type]);
						expect(normalize(result.value)).toBe(result.value);
					} else {
						expect(result.error.message.length).toBeGreaterThan(0);
					}
				}),
				{ numRuns: 2000 },
			);
		});

		it('never quotes more than 40 characters of the value in a message', () => {
			fc.assert(
				fc.property(fc.string({ minLength: 41, maxLength: 1200 }), (value) => {
					const result = attempt(() => normalize(value));
					if ('error' in result) {
						const chars = Array.from(value);
						for (let i = 0; i + 41 <= chars.length; i++) {
							expect(result.error.message).not.toContain(chars.slice(i, i + 41).join(''));
						}
					}
				}),
				{ numRuns: 200 },
			);
		});

		it.each(ALGORITHMS)('hashing before sending with %s hashes the normalized value', (algorithm) => {
			fc.assert(
				fc.property(validRaw[type], (value) => {
					const normalized = normalize(value);
					const sent = toWireIdentifier(type, value, 'raw', algorithm);
					expect(sent).toBe(createHash(algorithm).update(normalized).digest('hex'));
					expect(sent).toMatch(WIRE_SHAPE[algorithm]);
					expect(sent).not.toContain(normalized);
					if (typeof value === 'string') expect(sent).not.toContain(value.trim());
				}),
				RUNS,
			);
		});
	});

	it('every phone written with accepted noise normalizes to +1 and its 10 digits', () => {
		fc.assert(
			fc.property(whitespace, usPhone, whitespace, (before, phone, after) => {
				expect(normalizePhone(before + phone.text + after)).toBe(phone.expected);
			}),
			RUNS,
		);
	});

	it('noisy digit strings give +1 numbers or IdentifierErrors', () => {
		fc.assert(
			fc.property(noisyDigits, (value) => {
				const result = attempt(() => normalizePhone(value));
				if ('value' in result) expect(result.value).toMatch(WIRE_SHAPE.phone);
			}),
			{ numRuns: 2000 },
		);
	});

	it('emails are only trimmed and lowercased, never rewritten', () => {
		fc.assert(
			fc.property(padded(email), (value) => {
				expect(normalizeEmail(value)).toBe(value.trim().toLowerCase());
			}),
			RUNS,
		);
	});

	describe.each(ALGORITHMS)('%s hash input', (algorithm) => {
		const length = algorithm === 'sha256' ? 64 : 32;

		it('is trimmed and lowercased, idempotent, in the contract shape', () => {
			fc.assert(
				fc.property(padded(hex(length)), (value) => {
					const result = attempt(() => normalizeHash(value, algorithm));
					if ('value' in result) {
						expect(result.value).toBe(value.trim().toLowerCase());
						expect(result.value).toMatch(WIRE_SHAPE[algorithm]);
						expect(normalizeHash(result.value, algorithm)).toBe(result.value);
					}
				}),
				RUNS,
			);
		});

		it('on any input returns a shape-valid value or throws an IdentifierError', () => {
			fc.assert(
				fc.property(fc.oneof(anyInput, hex(length), hex(length - 1), hex(length + 1)), (value) => {
					const result = attempt(() => normalizeHash(value, algorithm));
					if ('value' in result) expect(result.value).toMatch(WIRE_SHAPE[algorithm]);
				}),
				{ numRuns: 2000 },
			);
		});
	});

	it('toWireIdentifier on any input and settings returns a shape-valid value or throws an IdentifierError', () => {
		fc.assert(
			fc.property(
				fc.constantFrom<unknown>(...IDENTIFIER_TYPES, 'fax', undefined),
				fc.oneof(anyInput, validRaw.email, validRaw.phone, validRaw.maid, hex(64), hex(32)),
				fc.constantFrom<unknown>(...FORMATS, 'base64', null),
				fc.constantFrom<unknown>(...HASHING, 'sha1', {}),
				fc.constantFrom<unknown>(...PHONE_FORMATS, 'dashed', undefined),
				(type, value, format, hashing, phoneFormat) => {
					const result = attempt(() =>
						toWireIdentifier(
							type as IdentifierType,
							value,
							format as IdentifierFormat,
							hashing as HashBeforeSending,
							phoneFormat as PhoneFormat,
						),
					);
					if ('value' in result) {
						const raw = type === 'phone' ? PHONE_SHAPE[(phoneFormat ?? 'e164') as PhoneFormat] : WIRE_SHAPE[type as IdentifierType];
						const shape =
							format === 'raw' && hashing === 'none'
								? raw
								: WIRE_SHAPE[(format === 'raw' ? hashing : format) as HashAlgorithm];
						expect(result.value).toMatch(shape);
					}
				},
			),
			{ numRuns: 3000 },
		);
	});

	it('a hashed input is sent unchanged when hashing asks for its own algorithm or none', () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...IDENTIFIER_TYPES),
				fc.constantFrom(...ALGORITHMS),
				fc.boolean(),
				fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
				(type, algorithm, same, seed) => {
					const hash = createHash(algorithm).update(seed).digest('hex');
					const sent = toWireIdentifier(type, hash.toUpperCase(), algorithm, same ? algorithm : 'none');
					expect(sent).toBe(hash);
				},
			),
			RUNS,
		);
	});
});
