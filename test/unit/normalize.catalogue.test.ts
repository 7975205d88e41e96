import {
	IdentifierError,
	hashIdentifier,
	normalizeEmail,
	normalizeHash,
	normalizeMaid,
	normalizePhone,
	toWireIdentifier,
	type HashBeforeSending,
	type IdentifierFormat,
} from '../../nodes/Factori/helpers/normalize';
import type { HashAlgorithm, IdentifierType, PhoneFormat } from '../../nodes/Factori/transport/contract';

/** One named case: a call and either the value it returns or the exact message it throws. */
interface Case {
	name: string;
	run: () => string;
	value?: string;
	error?: string;
}

const ok = (name: string, run: () => string, value: string): Case => ({ name, run, value });
const err = (name: string, run: () => string, error: string): Case => ({ name, run, error });

const US_DIGITS = 'a US number has 10 (or 11 starting with 1)';
const MAID = '6d92078a-8246-4ba4-ae5b-76104861e7dc';
const MAID_FORM = `a MAID is a UUID of 8-4-4-4-12 hex digits, like ${MAID}`;
const SHA256_OF_EMAIL = '836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f';
const MD5_OF_PHONE = 'dd065fdf4469ee22b6bb8b76408fa030';
const SHA256_OF_PHONE = '8a59780bb8cd2ba022bfa5ba2ea3b6e07af17a7d8b30c1f9b3390e36f69019e4';
// Of '15551234567' and '5551234567' (printf ... | sha256sum, md5sum).
const SHA256_OF_PHONE_WITH_1 = 'd6736136ea896c1bfdc553e0e86e702c70d060d805696ca3e4e9e0961353860a';
const MD5_OF_PHONE_NATIONAL = '6326e97c011be2b8ffaa12c9f2f0407e';
const SHA256_OF_MAID = '31b806b4deec8c4cb1ffb18b9ab4ee1fa82a2b30e1f47902f04d03f5db023376';
const SHA256_OF_ZERO_MAID = '12b9377cbe7e5c94e8a70d9d23929523d14afa954793130f8a3959c7b849aca8';
const SHA256_OF_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MD5_OF_EMPTY = 'd41d8cd98f00b204e9800998ecf8427e';

// An email of exactly 254 characters: 64 before the '@', 189 after it.
const DOMAIN_189 = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
const EMAIL_254 = `${'a'.repeat(64)}@${DOMAIN_189}`;
const EMAIL_255 = `${'a'.repeat(64)}@e${DOMAIN_189}`;
const LONG_ECHO = `'${'a'.repeat(39)}…'`;

const wire = (
	type: IdentifierType,
	value: unknown,
	format: IdentifierFormat,
	hash: HashBeforeSending,
	phoneFormat?: PhoneFormat,
) => () => toWireIdentifier(type, value, format, hash, phoneFormat);

const emailCases: Case[] = [
	ok('email: trimmed and lowercased', () => normalizeEmail('  John.Doe@Example.COM  '), 'john.doe@example.com'),
	ok('email: Gmail dots and +tag are kept', () => normalizeEmail('First.Last+News@GMail.com'), 'first.last+news@gmail.com'),
	ok('email: punctuation allowed before the @', () => normalizeEmail("O'Brien_x-y@Mail.Example.co.uk"), "o'brien_x-y@mail.example.co.uk"),
	ok('email: tabs and newlines around it are trimmed', () => normalizeEmail('\tjane@example.org\n'), 'jane@example.org'),
	ok('email: digits and hyphens in the domain', () => normalizeEmail('user123@my-mail2.example.io'), 'user123@my-mail2.example.io'),
	ok('email: exactly 254 characters', () => normalizeEmail(EMAIL_254.toUpperCase()), EMAIL_254),
	ok('email: exactly 64 characters before the @', () => normalizeEmail(`${'x'.repeat(64)}@example.com`), `${'x'.repeat(64)}@example.com`),
	ok('email: already normalized stays as is', () => normalizeEmail('john.doe@example.com'), 'john.doe@example.com'),
	err('email: no @', () => normalizeEmail('john.example.com'),
		"The email 'john.example.com' has no '@'; an email address looks like name@example.com"),
	err('email: two @', () => normalizeEmail('a@b@c.com'),
		"The email 'a@b@c.com' has 2 '@' signs; an email address has exactly one (give one address per item)"),
	err('email: two addresses in one value', () => normalizeEmail('a@x.com,b@y.com'),
		"The email 'a@x.com,b@y.com' has 2 '@' signs; an email address has exactly one (give one address per item)"),
	err('email: space inside', () => normalizeEmail('john doe@example.com'),
		"The email 'john doe@example.com' contains a space; an email address has none"),
	err('email: tab inside (escaped in the message)', () => normalizeEmail('john\tdoe@example.com'),
		"The email 'john\\u0009doe@example.com' contains whitespace; an email address has none"),
	err('email: display-name form', () => normalizeEmail('John <john@example.com>'),
		"The email 'John <john@example.com>' contains a space; an email address has none"),
	err('email: domain without a dot', () => normalizeEmail('john@localhost'),
		"The email 'john@localhost' has no dot in its domain 'localhost'; a domain looks like example.com"),
	err('email: nothing before the @', () => normalizeEmail('@example.com'),
		"The email '@example.com' has nothing before the '@'"),
	err('email: nothing after the @', () => normalizeEmail('john@'),
		"The email 'john@' has nothing after the '@'; add the domain, like example.com"),
	err('email: 255 characters', () => normalizeEmail(EMAIL_255),
		`The email ${LONG_ECHO} is 255 characters long; an email address has at most 254`),
	err('email: 65 characters before the @', () => normalizeEmail(`${'x'.repeat(65)}@example.com`),
		`The email '${'x'.repeat(39)}…' has 65 characters before the '@'; at most 64 are allowed`),
	err('email: comma before the @', () => normalizeEmail('john,doe@example.com'),
		"The email 'john,doe@example.com' contains ',' before the '@', which an email address cannot have there"),
	err('email: mailto: prefix', () => normalizeEmail('mailto:john@example.com'),
		"The email 'mailto:john@example.com' contains ':' before the '@', which an email address cannot have there"),
	err('email: underscore in the domain', () => normalizeEmail('john@exa_mple.com'),
		"The email 'john@exa_mple.com' has an invalid domain 'exa_mple.com': it contains '_'; a domain has only letters, digits, hyphens and dots"),
	err('email: two dots in a row in the domain', () => normalizeEmail('john@example..com'),
		"The email 'john@example..com' has an invalid domain 'example..com': a domain is names of letters, digits and hyphens joined by single dots, none starting or ending with a hyphen or dot"),
	err('email: domain ending with a dot', () => normalizeEmail('john@example.com.'),
		"The email 'john@example.com.' has an invalid domain 'example.com.': a domain is names of letters, digits and hyphens joined by single dots, none starting or ending with a hyphen or dot"),
	err('email: domain starting with a hyphen', () => normalizeEmail('john@-example.com'),
		"The email 'john@-example.com' has an invalid domain '-example.com': a domain is names of letters, digits and hyphens joined by single dots, none starting or ending with a hyphen or dot"),
	err('email: accented letter', () => normalizeEmail('jöhn@example.com'),
		"The email 'jöhn@example.com' contains 'ö'; only ASCII letters, digits and punctuation are accepted (write an internationalized domain in its xn-- form)"),
	err('email: Kelvin sign is not lowercased into k', () => normalizeEmail('\u212Aelvin@example.com'),
		"The email '\u212Aelvin@example.com' contains '\u212A'; only ASCII letters, digits and punctuation are accepted (write an internationalized domain in its xn-- form)"),
	err('email: zero-width space (escaped in the message)', () => normalizeEmail('jo\u200Bhn@example.com'),
		"The email 'jo\\u200bhn@example.com' contains '\\u200b'; only ASCII letters, digits and punctuation are accepted (write an internationalized domain in its xn-- form)"),
	err('email: a SHA-256 hash given as raw', () => normalizeEmail(SHA256_OF_EMAIL),
		`The email '${SHA256_OF_EMAIL.slice(0, 39)}…' looks like a SHA-256 hash, not a raw email; if it is one, set the identifier format to SHA-256`),
];

const commonCases: Case[] = [
	err('missing: undefined', () => normalizeEmail(undefined),
		'The email is missing (the value is undefined); map the field to one that holds an email address'),
	err('missing: null', () => normalizePhone(null),
		'The phone is missing (the value is null); map the field to one that holds a phone number'),
	err('empty string', () => normalizeEmail(''),
		'The email is empty; map the field to one that holds an email address'),
	err('whitespace only', () => normalizeMaid(' \t '),
		`The MAID is only whitespace (3 characters); map the field to one that holds a MAID (a UUID such as ${MAID})`),
	err('not text: number for an email', () => normalizeEmail(42),
		'The email is a number (42), not text; map the field to the text of an email address'),
	err('not text: boolean', () => normalizePhone(true),
		'The phone is a boolean (true), not text; map the field to the text of a phone number'),
	err('not text: object', () => normalizeEmail({ email: 'a@b.co' }),
		'The email is an object, not text; map the field to the text of an email address'),
	err('not text: array', () => normalizeEmail(['a@b.co', 'c@d.co']),
		'The email is a list of 2 values, not text; give one value per item (split the list into items first)'),
	err('absurdly long value is not echoed', () => normalizeEmail(`${'x'.repeat(5000)}@example.com`),
		'The email is 5012 characters long, more than the 1000 any identifier could have; check that the field holds a single value, not a whole text or list'),
];

const phoneCases: Case[] = [
	ok('phone: 10 digits', () => normalizePhone('5551234567'), '+15551234567'),
	ok('phone: hyphens', () => normalizePhone('555-123-4567'), '+15551234567'),
	ok('phone: parentheses and space', () => normalizePhone('(555) 123-4567'), '+15551234567'),
	ok('phone: dots', () => normalizePhone('555.123.4567'), '+15551234567'),
	ok('phone: 11 digits starting with 1', () => normalizePhone('1 555 123 4567'), '+15551234567'),
	ok('phone: +1 with punctuation', () => normalizePhone(' +1 (555) 123-4567 '), '+15551234567'),
	ok('phone: already E.164', () => normalizePhone('+15551234567'), '+15551234567'),
	ok('phone: extension x12', () => normalizePhone('555-123-4567x12'), '+15551234567'),
	ok('phone: extension ext. 12', () => normalizePhone('555-123-4567 ext. 12'), '+15551234567'),
	ok('phone: extension ext 12', () => normalizePhone('555-123-4567 ext 12'), '+15551234567'),
	ok('phone: extension #12', () => normalizePhone('555-123-4567 #12'), '+15551234567'),
	ok('phone: extension "extension 12"', () => normalizePhone('(555) 123-4567 extension 12'), '+15551234567'),
	ok('phone: extension Ext.12', () => normalizePhone('+1 555 123 4567 Ext.12'), '+15551234567'),
	ok('phone: en dashes', () => normalizePhone('555\u2013123\u20134567'), '+15551234567'),
	ok('phone: a number of 10 digits', () => normalizePhone(5551234567), '+15551234567'),
	ok('phone: a number of 11 digits', () => normalizePhone(15551234567), '+15551234567'),
	ok('phone: a bigint', () => normalizePhone(BigInt('5551234567')), '+15551234567'),
	err('phone: 5 digits', () => normalizePhone('555-12'),
		`The phone '555-12' has 5 digits; ${US_DIGITS}`),
	err('phone: 11 digits not starting with 1', () => normalizePhone('555-123-45678'),
		`The phone '555-123-45678' has 11 digits but does not start with 1; ${US_DIGITS}`),
	err('phone: 12 digits', () => normalizePhone('555 123 4567 89'),
		`The phone '555 123 4567 89' has 12 digits; ${US_DIGITS}`),
	err('phone: country code +44', () => normalizePhone('+44 20 7946 0958'),
		"The phone '+44 20 7946 0958' has country code +44; only US numbers (+1) are accepted"),
	err('phone: another country code, no separators', () => normalizePhone('+442079460958'),
		"The phone '+442079460958' has a country code other than +1 (it starts with +4); only US numbers (+1) are accepted"),
	err('phone: +1 and 9 digits', () => normalizePhone('+1 555 123 456'),
		"The phone '+1 555 123 456' has 9 digits after +1; a US number has 10"),
	err('phone: international prefix 001', () => normalizePhone('001 555 123 4567'),
		"The phone '001 555 123 4567' starts with an international dialing prefix (00); only US numbers are accepted, as 10 digits or +1 and 10 digits"),
	err('phone: international prefix 011', () => normalizePhone('011 44 20 7946 0958'),
		"The phone '011 44 20 7946 0958' starts with an international dialing prefix (011); only US numbers are accepted, as 10 digits or +1 and 10 digits"),
	err('phone: letters', () => normalizePhone('1-800-FLOWERS'),
		"The phone '1-800-FLOWERS' contains letters; a phone number has digits only (write a vanity number as digits)"),
	err('phone: slashes', () => normalizePhone('555/123/4567'),
		"The phone '555/123/4567' contains '/'; a phone number has digits, optionally a leading +1, spaces, hyphens, dots, parentheses and an extension"),
	err('phone: + in the middle', () => normalizePhone('555+1234567'),
		"The phone '555+1234567' has a '+' that is not at its start"),
	err('phone: area code starting with 0', () => normalizePhone('0123456789'),
		"The phone '0123456789' has area code 012; a US area code starts with a digit from 2 to 9"),
	err('phone: 1 twice (area code starting with 1)', () => normalizePhone('+1 1234567890'),
		"The phone '+1 1234567890' has area code 123; a US area code starts with a digit from 2 to 9"),
	err('phone: no digits', () => normalizePhone('()-'), "The phone '()-' has no digits"),
	err('phone: NaN', () => normalizePhone(Number.NaN),
		'The phone is NaN (not a number); map the field to one that holds a phone number'),
	err('phone: Infinity', () => normalizePhone(Number.POSITIVE_INFINITY),
		'The phone is Infinity; map the field to one that holds a phone number'),
	err('phone: not a whole number', () => normalizePhone(5551234567.5),
		'The phone 5551234567.5 is not a whole number; a phone number has digits only'),
	err('phone: negative number', () => normalizePhone(-5551234567),
		'The phone -5551234567 is negative; a phone number has digits only'),
	err('phone: a number with 5 digits', () => normalizePhone(12345),
		`The phone 12345 has 5 digits; ${US_DIGITS}`),
	err('phone: a huge bigint is clipped in the message', () => normalizePhone(BigInt(`5${'0'.repeat(59)}`)),
		`The phone 5${'0'.repeat(38)}… has 60 digits; ${US_DIGITS}`),
	err('phone: a number beyond safe integers', () => normalizePhone(1e20),
		`The phone 100000000000000000000 is too large a number to be a phone number; ${US_DIGITS} digits`),
];

const maidCases: Case[] = [
	ok('MAID: trimmed and lowercased', () => normalizeMaid(' 6D92078A-8246-4BA4-AE5B-76104861E7DC '), MAID),
	ok('MAID: already normalized', () => normalizeMaid(MAID), MAID),
	err('MAID: all zeros', () => normalizeMaid('00000000-0000-0000-0000-000000000000'),
		"The MAID '00000000-0000-0000-0000-000000000000' is all zeros: the device has ad tracking disabled, so it identifies no one; skip such items"),
	err('MAID: in braces', () => normalizeMaid(`{${MAID}}`),
		`The MAID '{${MAID}}' is wrapped in braces; remove them: ${MAID_FORM}`),
	err('MAID: no hyphens', () => normalizeMaid('6D92078A82464BA4AE5B76104861E7DC'),
		`The MAID '6D92078A82464BA4AE5B76104861E7DC' has 32 hex digits but no hyphens; ${MAID_FORM} (if it is an MD5 hash, set the identifier format to MD5)`),
	err('MAID: last group one digit short', () => normalizeMaid('6d92078a-8246-4ba4-ae5b-76104861e7d'),
		`The MAID '6d92078a-8246-4ba4-ae5b-76104861e7d' has groups of 8-4-4-4-11 hex digits; ${MAID_FORM}`),
	err('MAID: a non-hex letter', () => normalizeMaid('6d92078g-8246-4ba4-ae5b-76104861e7dc'),
		`The MAID '6d92078g-8246-4ba4-ae5b-76104861e7dc' contains 'g', which is not a hex digit; ${MAID_FORM}`),
	err('MAID: not an identifier at all', () => normalizeMaid('not-a-maid'),
		`The MAID 'not-a-maid' contains 'n', which is not a hex digit; ${MAID_FORM}`),
	err('MAID: short hex without hyphens', () => normalizeMaid('abcdef'),
		`The MAID 'abcdef' has 6 hex digits and no hyphens; ${MAID_FORM}`),
	err('MAID: space inside', () => normalizeMaid('6d92078a 8246-4ba4-ae5b-76104861e7dc'),
		`The MAID '6d92078a 8246-4ba4-ae5b-76104861e7dc' contains whitespace; ${MAID_FORM}`),
	err('MAID: a SHA-256 hash given as raw', () => normalizeMaid(SHA256_OF_MAID),
		`The MAID '${SHA256_OF_MAID.slice(0, 39)}…' looks like a SHA-256 hash, not a raw MAID; if it is one, set the identifier format to SHA-256`),
	err('MAID: a number', () => normalizeMaid(123),
		`The MAID is a number (123), not text; map the field to the text of a MAID (a UUID such as ${MAID})`),
];

const hashCases: Case[] = [
	ok('SHA-256: trimmed and lowercased', () => normalizeHash(` ${SHA256_OF_EMAIL.toUpperCase()} `, 'sha256'), SHA256_OF_EMAIL),
	ok('MD5: trimmed and lowercased', () => normalizeHash(`${MD5_OF_PHONE.toUpperCase()}\n`, 'md5'), MD5_OF_PHONE),
	err('SHA-256: 63 characters', () => normalizeHash(SHA256_OF_EMAIL.slice(1), 'sha256'),
		`The SHA-256 hash '${SHA256_OF_EMAIL.slice(1, 40)}…' has 63 characters; a SHA-256 hash has exactly 64 hex characters (0-9, a-f)`),
	err('SHA-256: an MD5 given instead', () => normalizeHash(MD5_OF_PHONE, 'sha256'),
		`The SHA-256 hash '${MD5_OF_PHONE}' has 32 characters; a SHA-256 hash has exactly 64 hex characters (0-9, a-f); that is the length of an MD5 hash: if it is one, set the identifier format to MD5`),
	err('MD5: a SHA-256 given instead', () => normalizeHash(SHA256_OF_PHONE, 'md5'),
		`The MD5 hash '${SHA256_OF_PHONE.slice(0, 39)}…' has 64 characters; an MD5 hash has exactly 32 hex characters (0-9, a-f); that is the length of a SHA-256 hash: if it is one, set the identifier format to SHA-256`),
	err('MD5: right length, a non-hex character', () => normalizeHash(`${MD5_OF_PHONE.slice(0, 31)}z`, 'md5'),
		`The MD5 hash '${MD5_OF_PHONE.slice(0, 31)}z' has 32 characters but contains 'z', which is not a hex digit; an MD5 hash has exactly 32 hex characters (0-9, a-f)`),
	err('MD5: a raw email given instead', () => normalizeHash('a@b.com', 'md5'),
		"The MD5 hash 'a@b.com' has 7 characters; an MD5 hash has exactly 32 hex characters (0-9, a-f); it looks like a raw email: if it is one, set the identifier format to raw"),
	err('SHA-256: the hash of an empty value', () => normalizeHash(SHA256_OF_EMPTY, 'sha256'),
		`The SHA-256 hash '${SHA256_OF_EMPTY.slice(0, 39)}…' is the hash of an empty value: the identifier was blank when it was hashed; skip such items`),
	err('MD5: the hash of an empty value', () => normalizeHash(MD5_OF_EMPTY, 'md5'),
		`The MD5 hash '${MD5_OF_EMPTY}' is the hash of an empty value: the identifier was blank when it was hashed; skip such items`),
	err('SHA-256: missing', () => normalizeHash(undefined, 'sha256'),
		'The SHA-256 hash is missing (the value is undefined); map the field to one that holds a SHA-256 hash'),
	err('hash: unknown algorithm', () => normalizeHash(MD5_OF_PHONE, 'sha1' as HashAlgorithm),
		"The hash algorithm 'sha1' is unknown; use sha256 or md5"),
	ok('hashIdentifier: SHA-256 of "abc"', () => hashIdentifier('abc', 'sha256'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'),
	ok('hashIdentifier: MD5 of "abc"', () => hashIdentifier('abc', 'md5'), '900150983cd24fb0d6963f7d28e17f72'),
	err('hashIdentifier: nothing to hash', () => hashIdentifier('', 'sha256'),
		'There is no identifier to hash; an empty value has no meaningful hash'),
];

const wireCases: Case[] = [
	ok('wire: raw email, no hashing', wire('email', ' John.Doe@Example.com ', 'raw', 'none'), 'john.doe@example.com'),
	ok('wire: raw email hashed with SHA-256 after normalizing', wire('email', ' John.Doe@Example.com ', 'raw', 'sha256'), SHA256_OF_EMAIL),
	ok('wire: raw phone hashed with MD5 after normalizing', wire('phone', '(555) 123-4567', 'raw', 'md5'), MD5_OF_PHONE),
	ok('wire: phone as a number hashed with SHA-256', wire('phone', 5551234567, 'raw', 'sha256'), SHA256_OF_PHONE),
	ok('wire: raw MAID hashed with SHA-256', wire('maid', MAID.toUpperCase(), 'raw', 'sha256'), SHA256_OF_MAID),
	ok('wire: SHA-256 input sent as given', wire('email', SHA256_OF_EMAIL.toUpperCase(), 'sha256', 'none'), SHA256_OF_EMAIL),
	ok('wire: SHA-256 input, hash with SHA-256 changes nothing', wire('email', SHA256_OF_EMAIL, 'sha256', 'sha256'), SHA256_OF_EMAIL),
	ok('wire: MD5 input sent as given', wire('phone', MD5_OF_PHONE, 'md5', 'none'), MD5_OF_PHONE),
	err('wire: MD5 input, hash with SHA-256 conflicts', wire('phone', MD5_OF_PHONE, 'md5', 'sha256'),
		'The phone is given as an MD5 hash, but the hash-before-sending option asks for SHA-256, and one hash cannot be turned into another; set that option to None or MD5, or give the raw phone'),
	err('wire: hash of the all-zero MAID', wire('maid', SHA256_OF_ZERO_MAID, 'sha256', 'none'),
		`The SHA-256 hash '${SHA256_OF_ZERO_MAID.slice(0, 39)}…' is the hash of the all-zero MAID: the device has ad tracking disabled, so it identifies no one; skip such items`),
	err('wire: raw errors pass through before hashing', wire('email', 'nobody', 'raw', 'sha256'),
		"The email 'nobody' has no '@'; an email address looks like name@example.com"),
	err('wire: unknown identifier type', wire('fax' as IdentifierType, '5551234567', 'raw', 'none'),
		"The identifier type 'fax' is unknown; use one of email, phone, maid"),
	err('wire: identifier type not set', wire(undefined as unknown as IdentifierType, 'a@b.co', 'raw', 'none'),
		'The identifier type undefined is unknown; use one of email, phone, maid'),
	err('wire: unknown identifier format', wire('email', 'a@b.co', 'base64' as IdentifierFormat, 'none'),
		"The identifier format 'base64' is unknown; use one of raw, sha256, md5"),
	err('wire: unknown hash-before-sending option', wire('email', 'a@b.co', 'raw', 'sha1' as HashBeforeSending),
		"The hash-before-sending option 'sha1' is unknown; use one of none, sha256, md5"),
];

const phoneFormatCases: Case[] = [
	ok('phone format: E.164 by default', wire('phone', '(555) 123-4567', 'raw', 'none'), '+15551234567'),
	ok('phone format: e164', wire('phone', '555.123.4567', 'raw', 'none', 'e164'), '+15551234567'),
	ok('phone format: countryCode', wire('phone', '+1 (555) 123-4567', 'raw', 'none', 'countryCode'), '15551234567'),
	ok('phone format: national', wire('phone', '1-555-123-4567 ext. 89', 'raw', 'none', 'national'), '5551234567'),
	ok('phone format: hashed in the form it is sent', wire('phone', '555 123 4567', 'raw', 'sha256', 'countryCode'), SHA256_OF_PHONE_WITH_1),
	ok('phone format: national, MD5', wire('phone', '5551234567', 'raw', 'md5', 'national'), MD5_OF_PHONE_NATIONAL),
	ok('phone format: a hash is sent as given', wire('phone', SHA256_OF_PHONE, 'sha256', 'none', 'national'), SHA256_OF_PHONE),
	ok('phone format: not applied to other types', wire('email', 'A@B.co', 'raw', 'none', 'national'), 'a@b.co'),
	err('phone format: a bad phone still fails first', wire('phone', '555-1234', 'raw', 'none', 'national'),
		`The phone '555-1234' has 7 digits; ${US_DIGITS}`),
	err('phone format: unknown', wire('phone', '5551234567', 'raw', 'none', 'dashed' as PhoneFormat),
		"The phone format 'dashed' is unknown; use one of e164, countryCode, national"),
];

const catalogue: Case[] = [...emailCases, ...commonCases, ...phoneCases, ...maidCases, ...hashCases, ...wireCases, ...phoneFormatCases];

function outcome(run: () => string): { value: string } | { error: unknown } {
	try {
		return { value: run() };
	} catch (error) {
		return { error };
	}
}

describe('normalize: catalogue', () => {
	it('has at least 70 cases, each with a unique name', () => {
		expect(catalogue.length).toBeGreaterThanOrEqual(70);
		expect(new Set(catalogue.map((c) => c.name)).size).toBe(catalogue.length);
	});

	it.each(catalogue.filter((c) => c.error === undefined))('$name', ({ run, value }) => {
		expect(outcome(run)).toEqual({ value });
	});

	it.each(catalogue.filter((c) => c.error !== undefined))('$name', ({ run, error }) => {
		const result = outcome(run);
		expect(result).toHaveProperty('error');
		const thrown = (result as { error: unknown }).error;
		expect(thrown).toBeInstanceOf(IdentifierError);
		expect((thrown as Error).message).toBe(error);
	});
});
