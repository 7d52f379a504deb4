// One lint config for the repo. Type-aware rules matter most here: a floating promise in the
// gateway or the isolate host is a lost error or a hung request.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.procyon/', 'bench/results/', 'examples/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself tracks.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      // Off: async methods here implement Promise-returning interfaces over synchronous work
      // (the Store over better-sqlite3, test fakes); `async` turns their throws into rejections,
      // which callers rely on, so dropping it to please the rule would change behaviour.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The in-isolate prelude implements web specs that traffic in arbitrary values: an abort
    // reason or a callback's error may be anything and is rejected/thrown as given; WebIDL
    // converts any value with String(); built-in methods are captured unbound at load time so
    // user code that patches prototypes later cannot change them (then called with .call).
    files: ['src/runtime/**/*.ts'],
    rules: {
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // End-to-end tests read JSON response bodies of many shapes through test/e2e/node.ts's
    // ApiBody (any) and assert on the fields: the assertion is the check these rules would add.
    files: ['test/e2e/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The CLI and the benchmark talk to a terminal: printing is their job.
    files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Plain JS (bin/, scripts/, this file) is not in a tsconfig, so it has no type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
  {
    // .dependency-cruiser.cjs: depcruise require()s its config.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
);
