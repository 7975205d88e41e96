/**
 * End-to-end tests: the packed package in a real n8n (one instance for the whole run,
 * started by global-setup.ts), against the Factori simulator. Files run one at a time
 * because they share that n8n; see test/e2e/support/shared-n8n.ts.
 */
/** @type {import('jest').Config} */
module.exports = {
	rootDir: '../..',
	preset: 'ts-jest',
	testEnvironment: 'node',
	roots: ['<rootDir>/test/e2e'],
	testMatch: ['**/*.e2e.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
	globalSetup: '<rootDir>/test/e2e/global-setup.ts',
	globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
	maxWorkers: 1,
	// n8n restarts and whole workflow runs take seconds each on a shared 2-core machine.
	testTimeout: 180000,
	reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
