import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IDataObject,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

import {
	DEFAULT_BASE_URL,
	DEFAULT_RATE_LIMIT,
	DEFAULT_RATE_LIMIT_PERIOD,
	DEFAULT_TOKEN_TYPE,
	PATHS,
} from '../nodes/Factori/transport/contract';
import { accountOf } from '../nodes/Factori/transport/account';
import { departing } from '../nodes/Factori/transport/departure';
import { pacerOf } from '../nodes/Factori/transport/pacer';
import { LoginCoalescer, loginKey, logIn, type LoginSettings } from '../nodes/Factori/transport/token-flow';

const logins = new LoginCoalescer();
const LOGIN_TIMEOUT_MS = 30_000;

const text = (value: unknown) => (typeof value === 'string' ? value : '');

export class FactoriApi implements ICredentialType {
	name = 'factoriApi';

	displayName = 'Factori API';

	icon: Icon = { light: 'file:../nodes/Factori/factori.svg', dark: 'file:../nodes/Factori/factori.dark.svg' };

	documentationUrl = 'https://github.com/factori-n8n/n8n-nodes-factori#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'User ID',
			name: 'username',
			type: 'string',
			default: '',
			required: true,
			description: 'The user ID of your Factori account',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				"Your account's own password. For a new account, the password you want to set (at least 8 characters): the credential sets it with the temporary password below.",
		},
		{
			displayName: 'Temporary Password',
			name: 'temporaryPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The temporary password Factori issued with a new account. When set and the account still needs its first reset, the credential resets it to the password above by itself. Leave empty once the account is set up.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: DEFAULT_BASE_URL,
			description: 'The Factori API root. Change it only for a sandbox or the local simulator.',
		},
		{
			displayName: 'Token Type',
			name: 'tokenType',
			type: 'string',
			// Not a secret, but n8n's scanners treat every field named like a token as one.
			typeOptions: { password: true },
			default: DEFAULT_TOKEN_TYPE,
			description: 'The token_type asked of Factori for the long-term token',
		},
		{
			displayName: 'Rate Limit',
			name: 'rateLimit',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: DEFAULT_RATE_LIMIT,
			description:
				'Requests your Factori contract allows per period. Every Factori node in this n8n instance using this account shares it.',
		},
		{
			displayName: 'Rate Limit Period',
			name: 'rateLimitPeriod',
			type: 'options',
			options: [
				{ name: 'Per Second', value: 'second' },
				{ name: 'Per Minute', value: 'minute' },
			],
			default: DEFAULT_RATE_LIMIT_PERIOD,
		},
		{
			displayName: 'Long Token',
			name: 'longToken',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
	];

	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject): Promise<IDataObject> {
		const settings: LoginSettings = {
			baseUrl: text(credentials.baseUrl) || DEFAULT_BASE_URL,
			username: text(credentials.username).trim(),
			password: text(credentials.password),
			temporaryPassword: text(credentials.temporaryPassword) || undefined,
			tokenType: text(credentials.tokenType) || DEFAULT_TOKEN_TYPE,
		};
		const postJson = async (url: string, body: object) => {
			const response = (await this.helpers.httpRequest({
				method: 'POST',
				url,
				body,
				json: true,
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
				// Every request waiting for this login waits on it too: do not let it hang for
				// n8n's default of five minutes.
				timeout: LOGIN_TIMEOUT_MS,
			})) as { statusCode: number; body: unknown };
			return { status: response.statusCode, body: response.body };
		};
		const heldToken = text(credentials.longToken) || undefined;
		const longToken = await logins.token(loginKey(settings), heldToken, async () => await logIn(postJson, settings));
		// Called with a token, this is n8n's re-login after a 401 (or the credential test): n8n
		// sends the request again next, one more arrival that the account's pacer must allow for.
		if (heldToken) await pacerOf(accountOf(credentials).key)?.acquireResend();
		return { longToken };
	}

	/** n8n runs this right before it sends a request, after any login (see transport/departure.ts). */
	authenticate = async (credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> => {
		departing(requestOptions);
		// The same object, not a copy: n8n hands it back here before it resends after a 401.
		requestOptions.headers = { ...requestOptions.headers, Authorization: `Bearer ${text(credentials.longToken)}` };
		return requestOptions;
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: PATHS.usage,
			method: 'GET',
		},
	};
}
